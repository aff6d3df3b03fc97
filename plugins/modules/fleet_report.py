#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: fleet_report
short_description: Write one report for many sites from each site's report and the exit status of its run
version_added: 0.2.0
description:
  - Reads the JSON report that M(edgeops.gateway.site_report) wrote for each site and writes a fleet
    report into O(dest) as JSON, Markdown and a self-contained HTML page (a sortable table of every site
    with its status, counts and earliest expiry, each linked to the site's own HTML page).
  - A site is V(ok) only with evidence, when its run exited 0 (if O(sites[].rc) is given) and its report
    says ok (or V(accepted)). A site whose report is missing or unreadable is listed as V(failed) with the
    reason, so a site whose run stopped early is never left out of the summary.
  - This is an action that runs on the controller only; it never connects to a host.
  - In check mode the report is written to C(fleet-report.check.*), so a dry run never overwrites the report
    of a real run.
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
    details: Every target is checked before the first write; each file is written to a temporary file beside it and renamed over the old one.
  idempotent:
    support: full
    details: The report is an output of the run, not state of any host, so the task always returns RV(ignore:changed=false).
  vault:
    description: Can automatically decrypt Ansible vaulted files.
    support: none
options:
  dest:
    description: Directory on the controller that receives the fleet report; created (mode 0750) if missing.
    type: path
    required: true
  sites:
    description: The sites of the run, each once.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the site, as its report names it.
        type: str
        required: true
      report:
        description: Path of the site's C(site-report.json) (the HTML page beside it is linked).
        type: path
        required: true
      rc:
        description: Exit status of the site's run, when known; a non-zero status makes the site V(failed).
        type: int
      log:
        description: Path of the site's run log, listed in the JSON report.
        type: path
author:
  - edgeops.gateway maintainers (@edgeops)
"""

EXAMPLES = r"""
- name: Write the fleet report
  edgeops.gateway.fleet_report:
    dest: /srv/rollouts/reports
    sites:
      - {name: site-a, report: /srv/rollouts/reports/site-a/site-report.json, rc: 0}
      - {name: site-b, report: /srv/rollouts/reports/site-b/site-report.json, rc: 2}
  register: fleet

- name: Fail the run when a site failed
  ansible.builtin.fail:
    msg: "{{ fleet.msg }}; failed sites: {{ fleet.failed_sites | join(', ') }}"
  when: fleet.status != "ok"
"""

RETURN = r"""
json_path:
  description: Path of the JSON fleet report.
  returned: success
  type: str
  sample: /srv/rollouts/reports/fleet-report.json
markdown_path:
  description: Path of the Markdown fleet report.
  returned: success
  type: str
html_path:
  description: Path of the HTML fleet page.
  returned: success
  type: str
status:
  description: V(ok) when every site is ok or accepted, else V(failed).
  returned: success
  type: str
failed_sites:
  description: Names of the sites that are not ok.
  returned: success
  type: list
  elements: str
summary:
  description: Counts of sites and devices, and the summary line.
  returned: success
  type: dict
"""
