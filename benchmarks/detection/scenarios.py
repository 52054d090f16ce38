"""The scenarios of `../shared/tools/traffic` and their ground truth, as labelling rules.

Every recording runs inside a private network namespace: clients and attack tools at
127.0.0.1, servers at 127.0.0.2 (`../shared/data/pcaps/README.md`). In portscan, connectscan,
slowloris, flood and synflood every flow between the two is the attack; web, udp and bulk are
benign. `mixed` runs web (port 8080) and udp (port 5353) while nmap SYN-scans ports 1-300, so
there the attack is every flow to or from a victim port in 1-300 (the tool's source shows it).
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.labelling import Rule
from models.labels import ATTACK

ATTACKER = "127.0.0.1"
VICTIM = "127.0.0.2"


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    victim: str | None  # the victim endpoint of the attack (address[:ports]); None: benign
    what: str
    expect: tuple[tuple[int, int], ...]  # (server port, at least this many flows to it)
    environment: tuple[tuple[str, str], ...] = ()

    @property
    def attack(self) -> bool:
        return self.victim is not None

    def rules(self) -> list[Rule]:
        if self.victim is None:
            return []
        return [Rule.parse(ATTACK, [ATTACKER], [self.victim])]


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario("portscan", VICTIM, "nmap -sS -Pn -p 1-1000 (SYN scan)", ((80, 1),)),
        Scenario("connectscan", VICTIM, "nmap -sT -Pn -p 1-500 (connect scan)", ((80, 1),)),
        Scenario("slowloris", VICTIM, "slowhttptest -H -c 60 -r 30 -i 2 -l 12", ((8080, 30),)),
        Scenario("flood", VICTIM, "ab -n 1500 -c 20 on one page (HTTP flood)", ((8080, 1400),)),
        Scenario(
            "synflood", VICTIM, "hping3 -S -p 8080 -i u2000 -c 1500 (SYN flood)", ((8080, 1000),)
        ),
        Scenario(
            "mixed",
            f"{VICTIM}:1-300",
            "web + udp while nmap -sS scans ports 1-300",
            ((8080, 40), (5353, 50), (80, 1)),
        ),
        Scenario(
            "web",
            None,
            "curl: pages and files of 1 kB to 300 kB, misses, keep-alive",
            ((8080, 100),),
        ),
        Scenario("udp", None, "a UDP echo service, 60 short client sessions", ((5353, 50),)),
        # ab fetching a 7 kB file: benign load from the flood's own tool, small here
        Scenario(
            "bulk", None, "ab -n 400 -c 50 on a 7 kB file", ((8080, 350),), (("REQUESTS", "400"),)
        ),
    )
}
