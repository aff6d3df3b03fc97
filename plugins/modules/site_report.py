#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: site_report
short_description: Write the per-site rollout report (JSON, Markdown and an HTML page)
version_added: 0.1.0
description:
  - Collects what the rollout recorded about every gateway and device of a site and writes a
    machine-readable JSON report, a Markdown report and a self-contained HTML page for a person into O(dest).
  - Per gateway and per device the report lists the status (V(ok), V(failed), V(unreachable),
    V(rolled_back), V(skipped), V(not_checked)) with the phase and reason of a failure, the trust-store
    state, the handshake result with its diagnosis, and the certificates with subjects, thumbprints
    and expiry; a summary line counts the devices that are ok and failed and names the earliest expiry.
  - In a nested hierarchy (gateways with C(edgeops_gateway_parent)) each gateway row also has its C(parent), its
    C(layer) (1 for a top-layer gateway) and C(upstream), its handshake results with the parent (the
    C(edgeops_upstream_handshake) fact that C(playbooks/verify.yml) records); a failed one fails the gateway. The
    Markdown report then shows the hierarchy as a tree, each gateway's devices under it.
  - The data comes from host facts set by the collection's roles (names set by the C(*_fact) options)
    and from O(certificates) (for example the result of the PKI expiry report).
  - This is an action that runs on the controller only; it never connects to a host.
  - In check mode the report is written to C(site-report.check.json) and C(site-report.check.md), so a
    dry run never overwrites the report of a real run.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeops.gateway.attributes
  - edgeops.gateway.attributes.action
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    support: full
    details: In check mode the report is written under a C(.check) name; nothing on any host is changed.
  diff_mode:
    support: none
  platform:
    platforms: posix
  safe_file_operations:
    description: Uses Ansible's strict file operation functions to ensure proper permissions and avoid data corruption.
    support: full
    details:
      - Every target is checked before the first write; each report file is written to a temporary file in
        O(dest), synced and renamed over the old one.
  idempotent:
    support: full
    details:
      - The report is an output of the rollout, not state of the site, so the task always returns
        RV(ignore:changed=false). RV(report_changed) tells whether the content differs from the previous
        report, ignoring the timestamp and values that move with time (days left, handshake timings).
  vault:
    description: Can automatically decrypt Ansible vaulted files.
    support: none
options:
  dest:
    description:
      - Directory on the controller that receives the report files; created (mode 0750) if missing.
      - An empty value is refused (the controller's current folder is never used).
    type: path
    required: true
  site:
    description: Name of the site. Defaults to the C(edgeops_site) variable.
    type: str
  gateways:
    description: Inventory names of the site's gateways. Defaults to the C(gateways) group.
    type: list
    elements: str
  devices:
    description: Inventory names of the site's devices. Defaults to the C(devices) group.
    type: list
    elements: str
  certificates:
    description:
      - Certificates to list. An item with a C(host) key is listed under that host, others under the site.
      - Keys read from each item are C(name), C(subject), C(issuer), C(not_after) (ISO 8601), C(days_left),
        C(sha256_thumbprint), C(sha1_thumbprint) and C(renew_next_run).
    type: list
    elements: dict
    default: []
  accept_failed_devices:
    description:
      - How many failed devices the site may have and still count as a success, as a number (V(2)) or a share
        of the site's devices (V(10%), rounded down). A device that failed, was unreachable, was skipped or was
        not checked counts as failed. A failed gateway is never accepted.
      - Defaults to the C(edgeops_accept_failed_devices) variable; when neither is set, none is accepted.
      - With failed devices within this number the report's RV(status) is V(accepted), otherwise V(failed).
    type: raw
  handshake_fact:
    description: Host fact holding a device's handshake result (as returned by M(edgeops.gateway.tls_handshake)).
    type: str
    default: handshake_check_result
  trust_store_fact:
    description: Host fact holding a device's trust-store result.
    type: str
    default: trust_store_result
  gateway_fact:
    description: Host fact holding a gateway's deployment result.
    type: str
    default: gateway_result
  failure_fact:
    description:
      - Host fact recording a failure of the host, a dict with C(phase), C(msg) and C(unreachable).
      - Without one, a host is also reported as skipped when it has C(edgeops_rollout_skipped) (its gateway
        failed), and as failed when C(edgeops_rollout_phase) names a phase missing from
        C(edgeops_rollout_completed), because it dropped out of the play inside that phase.
    type: str
    default: edgeops_rollout_failure
author:
  - edgeops.gateway maintainers (@edgeops)
"""

EXAMPLES = r"""
- name: Write the site report
  edgeops.gateway.site_report:
    dest: "{{ edgeops_report_dir }}"
  run_once: true
  delegate_to: localhost
  register: report

- name: Show where the report is
  ansible.builtin.debug:
    msg: "{{ report.msg }} (report: {{ report.markdown_path }})"
"""

RETURN = r"""
json_path:
  description: Path of the JSON report.
  returned: success
  type: str
  sample: /srv/rollouts/reports/site-a/site-report.json
markdown_path:
  description: Path of the Markdown report.
  returned: success
  type: str
  sample: /srv/rollouts/reports/site-a/site-report.md
html_path:
  description:
    - Path of the HTML page, which shows the site topology coloured by status (failing hosts with their diagnosis), an
      expiry timeline of every certificate and sortable tables; self-contained, it needs no network to view.
  returned: success
  type: str
  sample: /srv/rollouts/reports/site-a/site-report.html
summary:
  description: Counts and the earliest expiry, as in the report.
  returned: success
  type: dict
  contains:
    devices_total:
      description: Number of devices in the report.
      type: int
    devices_ok:
      description: Number of devices whose handshake passed.
      type: int
    devices_failed:
      description: Number of devices that failed, were unreachable, skipped or not checked.
      type: int
    gateways_total:
      description: Number of gateways in the report.
      type: int
    gateways_ok:
      description: Number of gateways that are ok.
      type: int
    earliest_expiry:
      description: The certificate that expires first, or null when no expiry is known.
      type: dict
    status:
      description: Same as RV(status).
      type: str
    devices_accepted:
      description: How many failed devices O(accept_failed_devices) accepts for this site.
      type: int
    line:
      description: "The summary line, for example C(ok: 2 devices ok, 0 failed; 1 of 1 gateways ok; earliest expiry ...)."
      type: str
status:
  description:
    - The outcome of the site, as in the report's C(status) field and at the start of the summary line.
    - V(ok) when every gateway and device is ok; V(accepted) when every gateway is ok and the failed devices
      are within O(accept_failed_devices); V(failed) otherwise. The rollout playbooks fail their last task
      unless the status is V(ok) or V(accepted).
  returned: success
  type: str
  sample: failed
failed_hosts:
  description: Inventory names of the gateways and devices whose status is not V(ok).
  returned: success
  type: list
  elements: str
  sample: [dev2.site-a.lab]
report_changed:
  description: Whether the content differs from the previous report (timestamps and timings left out).
  returned: success
  type: bool
"""
