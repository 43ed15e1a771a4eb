"""``fsrouter replay --coverage``: which flow nodes and IVR keys the replayed calls exercised.

Nodes come from the sandboxed engine (every node of the line's flow a replayed call
entered; what an IVR key does, ringing a group say, runs inside the IVR node and counts
as the key);
IVR keys from the calls' route steps (``{"step": "ivr", "menu": M, "key": K}``), set
against every key, ``on_timeout`` and ``on_invalid`` the config defines.
"""

from __future__ import annotations


def coverage_report(run) -> str:
    """Text report for a ReplayRun (fsrouter.replay.runner)."""
    out = []
    visited = {(line, node) for line, node in run.visits}
    for source, catalog in run.catalogs.items():
        out.append(f"coverage of {source}:")
        total = hit = 0
        for line_id, flow in sorted(catalog.flows.items()):
            nodes = list(flow.nodes)
            seen = [n for n in nodes if (line_id, n) in visited]
            total += len(nodes)
            hit += len(seen)
            missed = [n for n in nodes if n not in seen]
            out.append(f"  line {line_id}: {len(seen)}/{len(nodes)} nodes"
                       + (f" (not run: {', '.join(missed)})" if missed else ""))
        out.append(f"  flow nodes: {hit}/{total}")
        keys_hit: set[tuple[str, str]] = set()
        for _, route in run.routes:
            for step in route:
                if step.get("step") == "ivr" and step.get("menu"):
                    key = step.get("key")
                    result = step.get("result")
                    keys_hit.add((step["menu"], result if result in ("timeout", "invalid") else key))
        menus = catalog.config.menus
        k_total = k_hit = 0
        for menu_id, menu in sorted(menus.items()):
            keys = sorted(menu.keys) + ["timeout", "invalid"]
            seen = [k for k in keys if (menu_id, k) in keys_hit]
            k_total += len(keys)
            k_hit += len(seen)
            missed = [k for k in keys if k not in seen]
            out.append(f"  ivr {menu_id}: {len(seen)}/{len(keys)} keys"
                       + (f" (not pressed: {', '.join(missed)})" if missed else ""))
        if menus:
            out.append(f"  ivr keys: {k_hit}/{k_total}")
            out.append("  (a key that rings a group (after the caller's CRM responsible) or an employee, or takes a "
                       "voice message, does so inside its menu: it counts as the key, not as the line's own "
                       "crm_responsible, group or voicemail nodes)")
    return "\n".join(out) if out else "coverage: no transcript was replayed against a config"
