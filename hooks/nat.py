"""Port publishing and outbound NAT for the bridge hook, through nftables (off by default).
Not a layer of the runtime: a hook program the runtime runs and never imports.

Everything lives in one table per bridge, ``ip pyrunc_<bridge>``, so that removing the
bridge removes it all and nothing else of the host's ruleset is touched:

- a published port ``HOST:CONTAINER[/tcp|/udp]`` (annotation ``pyrunc.net.publish``, comma
  separated) is a DNAT rule in the table's ``prerouting`` chain (traffic from outside) and in
  its ``output`` chain (the host's own connections to any of its local addresses), tagged
  with the comment ``pyrunc:<container id>``; ``down`` deletes the rules with that tag;
- outbound NAT (annotation ``pyrunc.net.nat`` = ``true``, or ``--nat``) is one masquerade
  rule in ``postrouting`` for the bridge's subnet leaving by another interface, tagged
  ``pyrunc:nat``.  Forwarding (net.ipv4.ip_forward) is the host's to enable: the hook does
  not change host-wide settings.

The rules are written with the ``nft`` program (Debian's nftables package) in one atomic
``nft -f -`` transaction each, and read back as JSON (``nft -j``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

PROTOS = ("tcp", "udp")
TAG = "pyrunc:"


class NatError(Exception):
    """One line for the hook to show."""


@dataclass(frozen=True)
class Port:
    host: int
    container: int
    proto: str

    def __str__(self) -> str:
        return f"{self.host}:{self.container}/{self.proto}"


def parse_publish(text: str) -> list[Port]:
    """``8080:80,5353:53/udp`` -> ports; every error names the entry."""
    out: list[Port] = []
    for entry in (e.strip() for e in text.split(",") if e.strip()):
        m = re.fullmatch(r"(\d{1,5}):(\d{1,5})(?:/(tcp|udp))?", entry)
        if not m:
            raise NatError(f"publish {entry!r}: not HOSTPORT:CONTAINERPORT[/tcp|/udp]")
        host, ctr = int(m.group(1)), int(m.group(2))
        if not (1 <= host <= 65535 and 1 <= ctr <= 65535):
            raise NatError(f"publish {entry!r}: ports are 1 to 65535")
        p = Port(host, ctr, m.group(3) or "tcp")
        if any((q.host, q.proto) == (p.host, p.proto) for q in out):
            raise NatError(f"publish {entry!r}: host port {p.host}/{p.proto} given twice")
        out.append(p)
    return out


def table(bridge: str) -> str:
    return "pyrunc_" + re.sub(r"[^A-Za-z0-9_]", "_", bridge)


def nft_path() -> str | None:
    """The nft program; hooks often run with an empty environment (no PATH), so the sbin
    directories are searched too."""
    path = ":".join(filter(None, [os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/local/sbin"]))
    return shutil.which("nft", path=path)


def _nft(*args: str, script: str | None = None) -> str:
    exe = nft_path() or "nft"
    try:
        p = subprocess.run([exe, *args], input=script, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise NatError("nft is not installed (Debian: apt-get install nftables)") from None
    if p.returncode != 0:
        msg = " ".join(p.stderr.split())[:300]
        raise NatError(f"nft {' '.join(args)}: {msg}")
    return p.stdout


def _rules(tbl: str) -> list[dict]:
    """The table's rules as nft's JSON objects ([] when the table does not exist)."""
    try:
        out = _nft("-j", "list", "table", "ip", tbl)
    except NatError as e:
        if "No such file or directory" in str(e):
            return []
        raise
    return [o["rule"] for o in json.loads(out).get("nftables", []) if "rule" in o]


def _published(rule: dict) -> tuple[int, str] | None:
    """(host port, proto) a DNAT rule of ours publishes."""
    for expr in rule.get("expr", []):
        match = expr.get("match")
        if match and isinstance(match.get("left"), dict) and "payload" in match["left"]:
            pl = match["left"]["payload"]
            if pl.get("field") == "dport" and pl.get("protocol") in PROTOS:
                return int(match["right"]), pl["protocol"]
    return None


#: -100 and 100 are the dstnat and srcnat priorities (numbers: nft 1.0.6 takes the names
#: for prerouting and postrouting only).
_CHAINS = """table ip {t} {{
  chain prerouting {{ type nat hook prerouting priority -100; }}
  chain output {{ type nat hook output priority -100; }}
  chain postrouting {{ type nat hook postrouting priority 100; }}
}}
"""


def publish(bridge: str, cid: str, addr: str, ports: list[Port]) -> None:
    """DNAT each host port to ``addr``; a host port another container holds is an error."""
    if not ports:
        return
    tbl = table(bridge)
    taken = {_published(r): r.get("comment", "") for r in _rules(tbl)}
    for p in ports:
        holder = taken.get((p.host, p.proto))
        if holder:
            raise NatError(f"publish {p}: host port {p.host}/{p.proto} is already published "
                           f"(by {holder.removeprefix(TAG)})")
    script = _CHAINS.format(t=tbl)
    for p in ports:
        for chain, local in (("prerouting", "fib daddr type local "), ("output", "fib daddr type local ")):
            script += (f'add rule ip {tbl} {chain} {local}{p.proto} dport {p.host} '
                       f'dnat to {addr}:{p.container} comment "{TAG}{cid}"\n')
    _nft("-f", "-", script=script)


def masquerade(bridge: str, subnet: str) -> None:
    """Outbound NAT for the bridge's subnet (once per bridge)."""
    tbl = table(bridge)
    if any(r.get("comment") == TAG + "nat" for r in _rules(tbl)):
        return
    _nft("-f", "-", script=_CHAINS.format(t=tbl)
         + f'add rule ip {tbl} postrouting ip saddr {subnet} oifname != "{bridge}" masquerade comment "{TAG}nat"\n')


def unpublish(bridge: str, cid: str) -> None:
    """Delete the rules tagged with this container's id (nothing to do is fine)."""
    tbl = table(bridge)
    mine = [r for r in _rules(tbl) if r.get("comment") == TAG + cid]
    if mine:
        _nft("-f", "-", script="".join(f"delete rule ip {tbl} {r['chain']} handle {r['handle']}\n" for r in mine))


def remove_table(bridge: str) -> None:
    tbl = table(bridge)
    if _rules(tbl) or _table_exists(tbl):
        _nft("delete", "table", "ip", tbl)


def _table_exists(tbl: str) -> bool:
    try:
        _nft("list", "table", "ip", tbl)
        return True
    except NatError:
        return False
