# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of edgeops.gateway.ca_trust.

``src`` is read on the controller unless ``remote_src`` is true. The file (or ``content``) is checked here first, so a
private key passed by mistake is refused before it travels to the host; only the certificates, re-encoded as PEM,
are sent to the module as ``content``.

The implementation is chosen by the connection's shell: ``win_ca_trust`` (PowerShell) on Windows hosts, ``ca_trust``
(Python) everywhere else. (A ``ca_trust.ps1`` beside ``ca_trust.py`` would not work: for POSIX connections the plugin
loader takes the first file of that name in sorted order, which is the ``.ps1``.)
"""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.edgeops.gateway.plugins.module_utils._trust import (
    TrustError,
    load_certificates,
    refuse_expired,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        result = super().run(tmp, task_vars)
        del tmp

        args = dict(self._task.args)
        remote_src = args.get("remote_src", False)
        if isinstance(remote_src, str):
            remote_src = remote_src.strip().lower() in ("1", "yes", "true", "on", "y")
        try:
            if args.get("src") is not None and args.get("content") is not None:
                # Leave the message to the module's own mutually_exclusive check, without reading anything.
                pass
            elif args.get("src") is not None and not remote_src:
                args["content"] = self._read_controller_src(to_text(args.pop("src")))
                args.pop("remote_src", None)
            elif args.get("content") is not None:
                args["content"] = self._checked_pem(load_certificates(to_text(args["content"]), "content"))
        except TrustError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            return result
        except AnsibleError as exc:
            result.update(failed=True, changed=False, msg=to_text(exc))
            return result

        if getattr(self._connection._shell, "SHELL_FAMILY", "") == "powershell":
            module_name = "edgeops.gateway.win_ca_trust"
            if args.pop("handshake", None) is not None:
                # The handshake check is Python (edgeops.gateway.tls_handshake's), made on POSIX hosts only.
                result.setdefault("warnings", []).append(
                    "handshake is not made on Windows hosts: the certificate store was handled without it"
                )
        else:
            module_name = "edgeops.gateway.ca_trust"
        result.update(self._execute_module(module_name=module_name, module_args=args, task_vars=task_vars))
        return result

    def _read_controller_src(self, src):
        try:
            path = self._find_needle("files", src)
        except AnsibleError:
            raise TrustError(
                f"src '{src}' was not found on the controller. Give the path of the CA certificate there (for the "
                "site's root CA: edgeops_pki_dir/root-ca.pem), or set remote_src=true if the file is on the "
                "managed host."
            ) from None
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise TrustError(
                f"cannot read src '{path}' on the controller: {exc.strerror}. Check its permissions."
            ) from None
        return self._checked_pem(load_certificates(data, f"src '{path}'"))

    def _checked_pem(self, certs):
        """The certificates as PEM, after refusing an expired CA by the controller's clock.

        Only for state=present: the device's clock may be wrong (behind or ahead), the controller's is the reference
        that tells an expired CA from a wrong device clock. With several certificates the one the module will pick
        is not known here, so only an input whose certificates are all expired is refused.
        """
        if self._task.args.get("state", "present") == "present" and certs:
            expired = []
            for cert in certs:
                try:
                    refuse_expired(cert)
                except TrustError as exc:
                    expired.append(exc)
            if len(expired) == len(certs):
                raise expired[0]
        return "".join(cert.pem() for cert in certs)
