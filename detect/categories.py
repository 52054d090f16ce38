"""What an alert says about a label: its category and severity, as Suricata writes them.

The categories are class descriptions from Suricata's `classification.config` (the text its
EVE alerts carry in `alert.category`), and each severity is that class's priority there: 1 is
the most severe, 3 the least. CICIDS2017's classes fall into its attack families: scans,
denial of service, brute force against logins, web application attacks, bots and infiltration.
"""

from __future__ import annotations

from typing import NamedTuple

from models.labels import ATTACK, BENIGN


class Category(NamedTuple):
    name: str  # Suricata's description of the class, e.g. "Detection of a Network Scan"
    severity: int  # the class's priority in Suricata's classification.config


NETWORK_SCAN = Category("Detection of a Network Scan", 3)  # network-scan
DENIAL_OF_SERVICE = Category("Detection of a Denial of Service Attack", 2)  # denial-of-service
USER_PRIVILEGE = Category("Attempted User Privilege Gain", 1)  # attempted-user
WEB_APPLICATION = Category("Web Application Attack", 1)  # web-application-attack
TROJAN = Category("A Network Trojan was detected", 1)  # trojan-activity
INFORMATION_LEAK = Category("Large Scale Information Leak", 2)  # successful-recon-largescale
BAD_UNKNOWN = Category("Potentially Bad Traffic", 2)  # bad-unknown

# Every CICIDS2017 class, by family; ATTACK is the binary models' one attack class.
CATEGORIES: dict[str, Category] = {
    "PortScan": NETWORK_SCAN,
    "DDoS": DENIAL_OF_SERVICE,
    "DoS GoldenEye": DENIAL_OF_SERVICE,
    "DoS Hulk": DENIAL_OF_SERVICE,
    "DoS Slowhttptest": DENIAL_OF_SERVICE,
    "DoS slowloris": DENIAL_OF_SERVICE,
    "FTP-Patator": USER_PRIVILEGE,
    "SSH-Patator": USER_PRIVILEGE,
    "Web Attack - Brute Force": USER_PRIVILEGE,
    "Web Attack - Sql Injection": WEB_APPLICATION,
    "Web Attack - XSS": WEB_APPLICATION,
    "Bot": TROJAN,
    "Infiltration": TROJAN,
    "Heartbleed": INFORMATION_LEAK,
    ATTACK: BAD_UNKNOWN,
}


def category(label: str) -> Category:
    """The category of a label a model gave; a class this table does not know (a model trained
    on other data) is `Potentially Bad Traffic`, severity 2."""
    if label == BENIGN:
        raise ValueError("BENIGN flows raise no alert")
    return CATEGORIES.get(label, BAD_UNKNOWN)
