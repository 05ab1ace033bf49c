"""Three network namespaces: client -- fwd -- server, joined by two veth pairs.

One subnet spans both veths; fwd is an L2 bridge made of forwarder.py (not a
kernel bridge, so that it can delay and drop).  Static neighbour entries keep
ARP/ND out of the way, and offloads are off so captured frames are wire-sized
with valid checksums.
"""
import subprocess

NS_CLIENT, NS_FWD, NS_SERVER = "tcpst-client", "tcpst-fwd", "tcpst-server"
ALL_NS = (NS_CLIENT, NS_FWD, NS_SERVER)
CLIENT_IF, SERVER_IF = "c0", "s0"            # endpoints' veths
FWD_CLIENT_IF, FWD_SERVER_IF = "fc", "fs"    # forwarder's veths
CLIENT_MAC, SERVER_MAC = "02:00:00:77:00:01", "02:00:00:77:00:02"
ADDR = {4: ("10.77.0.1", "10.77.0.2"), 6: ("fd00::1", "fd00::2")}


def sh(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def ns_sh(ns, *cmd):
    sh("ip", "netns", "exec", ns, *cmd)


def set_child_ehash_entries(n):
    """Set net.ipv4.tcp_child_ehash_entries (in our own namespace); returns the old value."""
    path = "/proc/sys/net/ipv4/tcp_child_ehash_entries"
    with open(path) as f:
        old = int(f.read())
    with open(path, "w") as f:
        f.write(str(n))
    return old


def teardown():
    for ns in ALL_NS:
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def setup():
    teardown()  # leftovers of an interrupted run
    for ns in ALL_NS:
        sh("ip", "netns", "add", ns)
        ns_sh(ns, "ip", "link", "set", "lo", "up")
    # The forwarder's own IPv6 chatter (RS, MLD) must not exist at all.
    ns_sh(NS_FWD, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
          "net.ipv6.conf.default.disable_ipv6=1")
    for ns, ifname, peer, mac in ((NS_CLIENT, CLIENT_IF, FWD_CLIENT_IF, CLIENT_MAC),
                                  (NS_SERVER, SERVER_IF, FWD_SERVER_IF, SERVER_MAC)):
        sh("ip", "link", "add", ifname, "netns", ns, "address", mac, "type", "veth",
           "peer", "name", peer, "netns", NS_FWD)
    for ns, ifname in ((NS_CLIENT, CLIENT_IF), (NS_FWD, FWD_CLIENT_IF),
                       (NS_FWD, FWD_SERVER_IF), (NS_SERVER, SERVER_IF)):
        ns_sh(ns, "ethtool", "-K", ifname, "tx", "off", "rx", "off", "tso", "off",
              "gso", "off", "gro", "off")
        ns_sh(ns, "ip", "link", "set", ifname, "up", "promisc", "on")
    for ns, ifname, me, peer_mac in ((NS_CLIENT, CLIENT_IF, 0, SERVER_MAC),
                                     (NS_SERVER, SERVER_IF, 1, CLIENT_MAC)):
        for fam, plen in ((4, 24), (6, 64)):
            extra = ("nodad",) if fam == 6 else ()
            ns_sh(ns, "ip", f"-{fam}", "addr", "add", f"{ADDR[fam][me]}/{plen}",
                  "dev", ifname, *extra)
            ns_sh(ns, "ip", f"-{fam}", "neigh", "replace", ADDR[fam][1 - me],
                  "lladdr", peer_mac, "dev", ifname, "nud", "permanent")
