//! The speed floor for `scripts/bench.sh`: read every packet with pcap-parser and slice it with
//! etherparse down to the TCP header, doing nothing else. tcpstate cannot be faster than this;
//! the benchmark reports its throughput as a ratio to this program's.

use std::fs::File;

use etherparse::{SlicedPacket, TransportSlice};
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: floor CAPTURE")?;
    let mut reader = create_reader(1 << 20, File::open(&path)?).map_err(|e| format!("{e:?}"))?;
    let (mut packets, mut tcp, mut checksum) = (0u64, 0u64, 0u64);
    loop {
        match reader.next() {
            Ok((len, block)) => {
                let data = match &block {
                    PcapBlockOwned::Legacy(b) => Some(b.data),
                    PcapBlockOwned::NG(pcap_parser::pcapng::Block::EnhancedPacket(b)) => Some(b.data),
                    _ => None,
                };
                if let Some(data) = data {
                    packets += 1;
                    if let Ok(p) = SlicedPacket::from_ethernet(data) {
                        if let Some(TransportSlice::Tcp(t)) = p.transport {
                            tcp += 1;
                            checksum = checksum.wrapping_add(u64::from(t.sequence_number()));
                        }
                    }
                }
                reader.consume(len);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => reader.refill().map_err(|e| format!("{e:?}"))?,
            Err(e) => return Err(format!("{e:?}").into()),
        }
    }
    println!("{packets} packets, {tcp} TCP (checksum {checksum})");
    Ok(())
}
