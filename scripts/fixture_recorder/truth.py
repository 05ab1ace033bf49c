"""Turn tracepoint events + timewait polls into the truth file's connections.

Rules (see fixtures/README.md):
  * a socket's lifetime is the run of events on one skaddr up to ->CLOSE; it
    is a client if it starts CLOSE->SYN_SENT, a server if LISTEN->SYN_RECV;
  * FIN_WAIT2->CLOSE / CLOSING->CLOSE followed by a timewait mini-socket in
    the poll means the connection went on in that mini-socket's states
    (FIN_WAIT2 for an orphan waiting for the peer's FIN, then TIME_WAIT); a
    mini-socket that vanished before the end (recycled by a new SYN) is CLOSED;
  * FIN_WAIT1->FIN_WAIT2->CLOSE within one segment (the peer's FIN carried the
    ACK of ours) is RFC FIN_WAIT_1 -> TIME_WAIT: that FIN_WAIT_2 is left out, if
    the capture agrees (an orphan's bare ACK looks the same to the tracepoint).
"""

RFC = {"CLOSE": "CLOSED", "SYN_RECV": "SYN_RCVD", "FIN_WAIT1": "FIN_WAIT_1",
       "FIN_WAIT2": "FIN_WAIT_2"}
# Longest FIN_WAIT2 still counted as "same segment": two segments through the
# forwarder are never this close unless sent back to back.
SAME_SEGMENT_NS = 200_000
POLL_SLACK_NS = 1_000_000  # a mini-socket is hashed just before the ->CLOSE event
# A request socket's LISTEN->SYN_RECV and SYN_RECV->ESTABLISHED are traced together at the
# final ACK; a Fast Open socket's are a round trip apart (SYN, then final ACK).
FAST_OPEN_GAP_NS = 1_000_000


def fmt(addr, port):
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def lifetimes(events, our_addrs):
    """Split events into per-socket lifetimes with role and addresses."""
    lives, open_by_sk = [], {}
    for ev in events:
        if ev["daddr"] not in our_addrs:  # other namespaces, listeners
            continue
        life = open_by_sk.get(ev["skaddr"])
        if life is None or ev["old"] in ("CLOSE", "LISTEN"):
            life = {"events": []}
            lives.append(life)
            open_by_sk[ev["skaddr"]] = life
        life["events"].append(ev)
        if ev["new"] == "CLOSE":
            del open_by_sk[ev["skaddr"]]
    for life in lives:
        first = life["events"][0]
        life["role"] = {"SYN_SENT": "client", "SYN_RECV": "server"}.get(first["new"])
        named = next((e for e in life["events"] if e["sport"]), first)
        life["local"] = fmt(named["saddr"], named["sport"])
        life["remote"] = fmt(named["daddr"], named["dport"])
        life["start"] = first["ts_ns"]
    return [life for life in lives if life["role"]]


def endpoint(life, tw_history, window_end, acked_with_fin):
    """(events, states, notes) of one socket lifetime. acked_with_fin: whether the capture
    shows our FIN acknowledged by a segment carrying the peer's FIN (None: not seen)."""
    evs = life["events"]
    out = [{"ts": e["ts_ns"] / 1e9, "from": e["old"], "to": e["new"],
            "source": "tracepoint"} for e in evs]
    kstates = [evs[0]["old"]] + [e["new"] for e in evs]
    notes = []
    last = evs[-1]
    if last["new"] == "CLOSE" and last["old"] in ("FIN_WAIT2", "CLOSING"):
        seen = [(ts, st) for ts, st in tw_history
                if last["ts_ns"] - POLL_SLACK_NS <= ts < window_end]
        if seen:
            kstates.pop()
            prev = last["old"]
            for ts, st in seen:
                st = st or "CLOSE"
                out.append({"ts": ts / 1e9, "from": prev, "to": st, "source": "ss"})
                kstates.append(st)
                prev = st
            notes.append(f"{last['old']}->CLOSE was entry into a timewait mini-socket; "
                         f"polling saw {' -> '.join(s or 'gone' for _, s in seen)}")
        else:
            notes.append(f"{last['old']}->CLOSE but no timewait socket was seen")
        # FIN_WAIT2 passed in microseconds, and polling first saw TIME_WAIT: one segment
        # with the ACK of our FIN and the peer's FIN, unless the capture shows them apart.
        passed = (len(evs) >= 2 and evs[-2]["new"] == "FIN_WAIT2"
                  and last["ts_ns"] - evs[-2]["ts_ns"] < SAME_SEGMENT_NS
                  and seen and seen[0][1] == "TIME_WAIT")
        if passed and acked_with_fin is not False:
            del kstates[len(evs) - 1]  # kstates[i + 1] is evs[i]["new"]
            notes.append("kernel passed FIN_WAIT2 for %d us inside one segment "
                         "(FIN carried the ACK of our FIN): left out"
                         % ((last["ts_ns"] - evs[-2]["ts_ns"]) // 1000))
        elif passed:
            notes.append("the capture shows the ACK of our FIN alone: the orphan became a "
                         "FIN_WAIT2 mini-socket at once, and the peer's FIN came before "
                         "polling saw it; FIN_WAIT_2 kept")
    states = []
    for s in kstates:
        s = RFC.get(s, s)
        if not states or states[-1] != s:
            states.append(s)
    return out, states, notes


def connections(events, tw, client_ns, server_ns, our_addrs, has_listener, acked_with_fin):
    """tw: {(ns, local, remote): [(ts_ns, state|None)]} from sockpoll; acked_with_fin:
    {(local, remote): bool} from the capture (wire.fin_acked_with_fin)."""
    lives = sorted(lifetimes(events, our_addrs), key=lambda l: l["start"])

    def window_end(life):
        later = [l["start"] for l in lives if l["role"] == life["role"]
                 and l["local"] == life["local"] and l["remote"] == life["remote"]
                 and l["start"] > life["start"]]
        return min(later, default=float("inf"))

    used, conns = set(), []
    for cl in (l for l in lives if l["role"] == "client"):
        c_events, c_states, c_notes = endpoint(
            cl, tw.get((client_ns, cl["local"], cl["remote"]), []), window_end(cl),
            acked_with_fin.get((cl["local"], cl["remote"])))
        srv = next((l for l in lives if l["role"] == "server" and id(l) not in used
                    and l["local"] == cl["remote"] and l["remote"] == cl["local"]
                    and l["start"] >= cl["start"]), None)
        if srv:
            used.add(id(srv))
            s_events, s_states, s_notes = endpoint(
                srv, tw.get((server_ns, srv["local"], srv["remote"]), []), window_end(srv),
                acked_with_fin.get((srv["local"], srv["remote"])))
            evs = srv["events"]
            if len(evs) >= 2 and evs[1]["ts_ns"] - evs[0]["ts_ns"] < FAST_OPEN_GAP_NS:
                s_notes.insert(0, "SYN_RCVD began when the SYN arrived (request socket, "
                                  "not traced); the tracepoint reports LISTEN->SYN_RECV "
                                  "only at the handshake's final ACK")
            else:
                s_notes.insert(0, "the SYN created a full socket at once (TCP Fast Open): "
                                  "the tracepoint reports LISTEN->SYN_RECV when it arrived")
        else:
            s_events, s_states = [], ["LISTEN" if has_listener else "CLOSED"]
            s_notes = ["no socket was ever created for this connection on the server"]
        notes = [f"client: {n}" for n in c_notes] + [f"server: {n}" for n in s_notes]
        conns.append({"client": cl["local"], "server": cl["remote"],
                      "client_events": c_events, "server_events": s_events,
                      "client_states": c_states, "server_states": s_states,
                      "notes": "; ".join(notes)})
    return conns
