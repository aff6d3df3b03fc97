#!powershell

# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Windows implementation of edgeops.gateway.ca_trust (documented in win_ca_trust.py); the ca_trust action plugin
# runs it for hosts reached over a PowerShell connection. The argument spec mirrors ca_trust.py exactly (a unit
# test compares them); the Linux-only options are accepted and ignored with a warning when they are set.
# Not run on a Windows host by this collection's CI: it is checked by parsing and by the spec comparison.

#AnsibleRequires -CSharpUtil Ansible.Basic

$spec = @{
    options = @{
        state = @{ type = 'str'; choices = @('present', 'absent'); default = 'present' }
        src = @{ type = 'path' }
        remote_src = @{ type = 'bool'; default = $false }
        content = @{ type = 'str'; no_log = $true }
        fingerprint = @{ type = 'str' }
        name = @{ type = 'str' }
        multiple = @{ type = 'str'; choices = @('fail', 'root', 'first'); default = 'fail' }
        allow_non_ca = @{ type = 'bool'; default = $false }
        verify = @{ type = 'bool'; default = $true }
        family = @{ type = 'str'; choices = @('auto', 'debian', 'rhel'); default = 'auto' }
        anchor_dir = @{ type = 'path' }
        update_command = @{ type = 'list'; elements = 'str' }
        bundle_path = @{ type = 'path' }
        store_name = @{ type = 'str'; default = 'Root' }
        store_location = @{ type = 'str'; choices = @('LocalMachine', 'CurrentUser'); default = 'LocalMachine' }
    }
    mutually_exclusive = @(
        , @('src', 'content', 'fingerprint')
    )
    required_if = @(
        @('state', 'present', @('src', 'content'), $true),
        @('state', 'absent', @('src', 'content', 'fingerprint', 'name'), $true),
        @('remote_src', $true, @('src'))
    )
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$OID_BASIC_CONSTRAINTS = '2.5.29.19'
$OID_KEY_USAGE = '2.5.29.15'
$PEM_CERT_PATTERN = '-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END (?:X509 |TRUSTED )?CERTIFICATE-----'
$PEM_ANY_PATTERN = '-----BEGIN ([A-Z0-9 ]+)-----'
$PRIVATE_KEY_PATTERN = '-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----'

Function ConvertTo-HexString {
    param([byte[]]$Bytes)
    return ([System.BitConverter]::ToString($Bytes)).Replace('-', '')
}

Function Get-Sha256Fingerprint {
    param($Certificate)
    $hasher = [System.Security.Cryptography.SHA256]::Create()
    try {
        return ConvertTo-HexString -Bytes $hasher.ComputeHash($Certificate.RawData)
    }
    finally {
        $hasher.Dispose()
    }
}

Function New-Certificate {
    param([byte[]]$Der)
    $certificate = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Certificate2
    $certificate.Import($Der)
    return $certificate
}

Function Read-Certificates {
    # Returns the certificates in $Bytes (PEM with one or more certificates, or DER); refuses private keys
    # without ever echoing them.
    param([byte[]]$Bytes, [string]$Source)

    $text = [System.Text.Encoding]::ASCII.GetString($Bytes)
    if ($text -match $PRIVATE_KEY_PATTERN) {
        $module.FailJson(("{0} contains a PRIVATE KEY. A trust store takes only the CA certificate: give the " +
                "certificate file (e.g. root-ca.pem, not root-ca.key.pem). The key was not written anywhere; if it " +
                "left its safe place by mistake, treat it as exposed.") -f $Source)
    }
    $found = [System.Text.RegularExpressions.Regex]::Matches($text, $PEM_CERT_PATTERN)
    $certificates = New-Object -TypeName System.Collections.ArrayList
    if ($found.Count -gt 0) {
        foreach ($block in $found) {
            $body = $block.Groups[1].Value -replace '\s', ''
            try {
                $der = [System.Convert]::FromBase64String($body)
                $null = $certificates.Add((New-Certificate -Der $der))
            }
            catch {
                $module.FailJson(("{0} has a CERTIFICATE block that is not a valid certificate ({1}). Export the CA " +
                        "certificate again in PEM form.") -f $Source, $_.Exception.Message)
            }
        }
        return , $certificates.ToArray()
    }
    if ($text -match $PEM_ANY_PATTERN) {
        $module.FailJson(("{0} holds a PEM '{1}' block, not a CERTIFICATE. Give the CA certificate in PEM " +
                "(-----BEGIN CERTIFICATE-----) or DER form.") -f $Source, $Matches[1])
    }
    if ($Bytes.Length -gt 0 -and $Bytes[0] -eq 0x30) {
        try {
            $null = $certificates.Add((New-Certificate -Der $Bytes))
            return , $certificates.ToArray()
        }
        catch {
            $null = $_
        }
    }
    $module.FailJson(("{0} is not a certificate: it holds neither a PEM CERTIFICATE block nor a DER certificate. " +
            "Give the CA certificate, e.g. the site's root-ca.pem.") -f $Source)
}

Function Test-SelfIssued {
    param($Certificate)
    $subject = [System.Convert]::ToBase64String($Certificate.SubjectName.RawData)
    $issuer = [System.Convert]::ToBase64String($Certificate.IssuerName.RawData)
    return $subject -eq $issuer
}

Function Select-Certificate {
    param([object[]]$Certificates, [string]$Multiple)
    if ($Certificates.Count -eq 1 -or $Multiple -eq 'first') {
        return $Certificates[0]
    }
    if ($Multiple -eq 'root') {
        $roots = @($Certificates | Where-Object { Test-SelfIssued -Certificate $_ })
        if ($roots.Count -eq 1) {
            return $roots[0]
        }
        $module.FailJson(("the input holds {0} certificates and {1} of them are self-signed roots; multiple=root " +
                "needs exactly one. Split the file, or use multiple=first.") -f $Certificates.Count, $roots.Count)
    }
    $subjects = ($Certificates | ForEach-Object { $_.Subject }) -join '; '
    $module.FailJson(("the input holds {0} certificates ({1}). Trust one deliberately: set multiple=root to take " +
            "the self-signed root and ignore the intermediates, multiple=first to take the first one, or split " +
            "the file and call the module once per certificate.") -f $Certificates.Count, $subjects)
}

Function Assert-Anchor {
    # Refuses certificates that must not become trust anchors; warns about doubtful ones.
    param($Certificate, [bool]$AllowNonCa)
    $fingerprint = Get-Sha256Fingerprint -Certificate $Certificate
    if ($Certificate.NotAfter.ToUniversalTime() -le [System.DateTime]::UtcNow) {
        $module.FailJson(("the certificate '{0}' (SHA-256 {1}) expired on {2:yyyy-MM-dd HH:mm:ss} UTC; an expired " +
                "CA verifies nothing. Renew the CA (re-run the PKI role) and install the new certificate.") -f
            $Certificate.Subject, $fingerprint, $Certificate.NotAfter.ToUniversalTime())
    }
    $isCa = $false
    $keyCertSign = $true
    foreach ($extension in $Certificate.Extensions) {
        if ($extension.Oid.Value -eq $OID_BASIC_CONSTRAINTS) {
            $isCa = [bool]$extension.CertificateAuthority
        }
        elseif ($extension.Oid.Value -eq $OID_KEY_USAGE) {
            $keyCertSign = [bool]($extension.KeyUsages -band [System.Security.Cryptography.X509Certificates.X509KeyUsageFlags]::KeyCertSign)
        }
    }
    if (-not ($isCa -and $keyCertSign)) {
        $why = if (-not $isCa) { 'has no basicConstraints CA:TRUE' } else { 'has keyUsage without keyCertSign' }
        if (-not $AllowNonCa) {
            $module.FailJson(("the certificate '{0}' (SHA-256 {1}) {2}: it is a leaf, not a CA, so it cannot anchor " +
                    "a chain. Give the site's root CA (root-ca.pem) instead, or set allow_non_ca=true to trust this " +
                    "exact certificate on purpose.") -f $Certificate.Subject, $fingerprint, $why)
        }
        $module.Warn(("installing '{0}', which {1}, because allow_non_ca=true" -f $Certificate.Subject, $why))
    }
    if ($Certificate.NotBefore.ToUniversalTime() -gt [System.DateTime]::UtcNow) {
        $module.Warn(("the certificate '{0}' is not valid before {1:yyyy-MM-dd HH:mm:ss} UTC; check the host's clock" -f
                $Certificate.Subject, $Certificate.NotBefore.ToUniversalTime()))
    }
}

Function Format-Entry {
    param($Certificate, [string]$StorePath)
    return '{0}\{1}: {2} ({3})' -f $StorePath, $Certificate.Thumbprint, (Get-Sha256Fingerprint -Certificate $Certificate),
    $Certificate.Subject
}

$state = $module.Params.state
$name = $module.Params.name
$storeName = $module.Params.store_name
$storeLocation = $module.Params.store_location
$storePath = 'Cert:\{0}\{1}' -f $storeLocation, $storeName

$linuxOnly = @('anchor_dir', 'update_command', 'bundle_path')
foreach ($option in $linuxOnly) {
    if ($null -ne $module.Params.$option) {
        $module.Warn(('{0} applies to Linux only; it is ignored on this host' -f $option))
    }
}
if ($module.Params.family -ne 'auto') {
    $module.Warn('family applies to Linux only; it is ignored on this host')
}
if ($null -ne $name -and $name -notmatch '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$') {
    $module.FailJson(("name '{0}' is not usable. Use letters, digits, '.', '_' and '-' only, start with a letter or " +
            "digit (e.g. 'edgeops-site-a-root-ca').") -f $name)
}

# Read the input.
$certificate = $null
if ($null -ne $module.Params.content) {
    $bytes = [System.Text.Encoding]::UTF8.GetBytes($module.Params.content)
    $certificate = Select-Certificate -Certificates (Read-Certificates -Bytes $bytes -Source 'content') -Multiple $module.Params.multiple
}
elseif ($null -ne $module.Params.src) {
    $src = $module.Params.src
    if (-not (Test-Path -LiteralPath $src -PathType Leaf)) {
        $module.FailJson(("src '{0}' is not a file on the managed host. Give the path of the CA certificate there, " +
                "or set remote_src=false to read it on the controller.") -f $src)
    }
    $bytes = [System.IO.File]::ReadAllBytes($src)
    $certificate = Select-Certificate -Certificates (Read-Certificates -Bytes $bytes -Source ("src '{0}'" -f $src)) -Multiple $module.Params.multiple
}

$fingerprint = $null
if ($null -ne $certificate) {
    $fingerprint = Get-Sha256Fingerprint -Certificate $certificate
    $module.Result.fingerprint = $fingerprint
    $module.Result.thumbprint = $certificate.Thumbprint
    $module.Result.subject = $certificate.Subject
    $module.Result.not_after = $certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'")
}
elseif ($null -ne $module.Params.fingerprint) {
    $fingerprint = ($module.Params.fingerprint -replace '[\s:]', '').ToUpperInvariant()
    if ($fingerprint -notmatch '^[0-9A-F]{64}$') {
        $module.FailJson(("fingerprint '{0}' is not a SHA-256 fingerprint. Give 64 hex digits, with or without colons." -f
                $module.Params.fingerprint))
    }
    $module.Result.fingerprint = $fingerprint
}
if ($state -eq 'present') {
    Assert-Anchor -Certificate $certificate -AllowNonCa $module.Params.allow_non_ca
}

# Open the store: read-only in check mode.
$openFlags = if ($module.CheckMode) {
    [System.Security.Cryptography.X509Certificates.OpenFlags]::ReadOnly
}
else {
    [System.Security.Cryptography.X509Certificates.OpenFlags]::ReadWrite
}
$location = [System.Security.Cryptography.X509Certificates.StoreLocation]$storeLocation
$store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList $storeName, $location
try {
    $store.Open($openFlags)
}
catch {
    $module.FailJson((("cannot open the certificate store {0}: {1}. Run the task with administrator rights " +
                "(become) or choose another store_name/store_location.") -f $storePath, $_.Exception.Message), $_)
}

try {
    $existing = @($store.Certificates)
    $toRemove = New-Object -TypeName System.Collections.ArrayList
    $toAdd = $null
    $replaced = New-Object -TypeName System.Collections.ArrayList
    $before = New-Object -TypeName System.Collections.ArrayList
    $after = New-Object -TypeName System.Collections.ArrayList

    if ($state -eq 'present') {
        $holders = @($existing | Where-Object { $_.Thumbprint -eq $certificate.Thumbprint })
        if ($holders.Count -gt 0) {
            $entry = Format-Entry -Certificate $holders[0] -StorePath $storePath
            $null = $before.Add($entry)
            $null = $after.Add($entry)
        }
        else {
            if ($null -ne $name) {
                foreach ($other in @($existing | Where-Object { $_.FriendlyName -eq $name })) {
                    $null = $before.Add((Format-Entry -Certificate $other -StorePath $storePath))
                    $null = $toRemove.Add($other)
                    $null = $replaced.Add(@{
                            path = '{0}\{1}' -f $storePath, $other.Thumbprint
                            fingerprint = Get-Sha256Fingerprint -Certificate $other
                        })
                }
                $certificate.FriendlyName = $name
            }
            $toAdd = $certificate
            $null = $after.Add((Format-Entry -Certificate $certificate -StorePath $storePath))
        }
        $module.Result.path = '{0}\{1}' -f $storePath, $certificate.Thumbprint
    }
    else {
        foreach ($candidate in $existing) {
            $match = $false
            if ($null -ne $fingerprint) {
                $match = (Get-Sha256Fingerprint -Certificate $candidate) -eq $fingerprint
            }
            elseif ($null -ne $name) {
                $match = $candidate.FriendlyName -eq $name
            }
            if ($match) {
                $null = $before.Add((Format-Entry -Certificate $candidate -StorePath $storePath))
                $null = $toRemove.Add($candidate)
            }
        }
    }

    $module.Result.changed = ($toRemove.Count -gt 0) -or ($null -ne $toAdd)
    $module.Result.store = $storePath
    $module.Result.removed = @($toRemove | ForEach-Object { $_.Thumbprint })
    $module.Result.replaced = $replaced.ToArray()
    $module.Diff.before = ($before.ToArray() | ForEach-Object { "$_`n" }) -join ''
    $module.Diff.after = ($after.ToArray() | ForEach-Object { "$_`n" }) -join ''

    if ($module.Result.changed -and -not $module.CheckMode) {
        try {
            foreach ($old in $toRemove) {
                $store.Remove($old)
            }
            if ($null -ne $toAdd) {
                $store.Add($toAdd)
            }
        }
        catch {
            $module.FailJson(("changing {0} failed: {1}. Run the task with administrator rights (become)." -f
                    $storePath, $_.Exception.Message), $_)
        }
    }
}
finally {
    $store.Close()
}

# Prove a change: read the store again and look for the certificate(s) by thumbprint.
$module.Result.proof = @{}
if ($module.Result.changed -and -not $module.CheckMode) {
    $check = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList $storeName, $location
    $check.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadOnly)
    try {
        $present = @($check.Certificates | ForEach-Object { $_.Thumbprint })
    }
    finally {
        $check.Close()
    }
    if ($null -ne $toAdd) {
        $module.Result.proof.store_contains = $present -contains $toAdd.Thumbprint
        if (-not $module.Result.proof.store_contains) {
            $module.FailJson(("the certificate {0} was added to {1} but the store does not list it. Check for a group " +
                    "policy that manages this store.") -f $toAdd.Thumbprint, $storePath)
        }
    }
    else {
        $left = @($toRemove | Where-Object { $present -contains $_.Thumbprint })
        $module.Result.proof.store_contains = $left.Count -gt 0
        if ($left.Count -gt 0) {
            $module.FailJson(("the certificate {0} was removed from {1} but the store still lists it. Check for a " +
                    "group policy that manages this store.") -f $left[0].Thumbprint, $storePath)
        }
    }
}

$module.ExitJson()
