//! Decoding a snapshot while it is still being produced: the producer hands over chunks as V8
//! serialises them, a thread decodes them as they come. Only chunks in flight are held (a bounded
//! queue: the producer waits when the decoder falls behind), never the whole text.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::snapshot::{HeapGraph, SnapshotError};

/// Chunks waiting for the decoder at most.
const IN_FLIGHT: usize = 64;

/// A `Read` over chunks arriving on a channel; the end of the channel is the end of the text.
struct Chunks {
    receiver: Receiver<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            match self.receiver.recv() {
                Ok(chunk) => {
                    self.current = chunk;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A snapshot being decoded on its own thread.
pub struct StreamingDecoder {
    sender: Option<SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<Result<HeapGraph, SnapshotError>>>,
}

impl StreamingDecoder {
    pub fn start() -> Result<Self, SnapshotError> {
        let (sender, receiver) = sync_channel(IN_FLIGHT);
        let thread = std::thread::Builder::new()
            .name("weak-tracker heap decoder".into())
            .spawn(move || {
                HeapGraph::read(Chunks {
                    receiver,
                    current: Vec::new(),
                    at: 0,
                })
            })
            .map_err(|e| SnapshotError(format!("could not start the snapshot decoder: {e}")))?;
        Ok(Self {
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    /// Hands over the next chunk. Once the decoder has failed, chunks are dropped; `finish` says
    /// why.
    pub fn feed(&mut self, chunk: Vec<u8>) {
        if let Some(sender) = &self.sender {
            if sender.send(chunk).is_err() {
                self.sender = None;
            }
        }
    }

    /// Ends the text and waits for the decoded graph.
    pub fn finish(mut self) -> Result<HeapGraph, SnapshotError> {
        self.sender = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Err(SnapshotError("the snapshot decoder stopped".into())),
        }
    }
}

impl Drop for StreamingDecoder {
    fn drop(&mut self) {
        // Closing the channel ends the decoder's input; wait for it, so no thread outlives us.
        self.sender = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::snapshot::tests::snapshot;

    #[test]
    fn decodes_a_snapshot_fed_in_chunks_of_any_size() {
        let text = snapshot(
            &[[9, 0, 1, 0, 1], [3, 1, 3, 16, 0]],
            &[[2, 2, 1]],
            &["", "Foo", "x"],
        );
        for size in [1, 7, 4096] {
            let mut decoder = StreamingDecoder::start().unwrap();
            for chunk in text.as_bytes().chunks(size) {
                decoder.feed(chunk.to_vec());
            }
            let graph = decoder.finish().unwrap();
            assert_eq!(graph.node_name(1), "Foo");
        }
    }

    #[test]
    fn a_broken_text_fails_at_finish_and_dropping_an_unfinished_decoder_stops_its_thread() {
        let mut decoder = StreamingDecoder::start().unwrap();
        decoder.feed(b"{\"snapshot\":".to_vec());
        assert!(decoder.finish().is_err());
        let mut decoder = StreamingDecoder::start().unwrap();
        decoder.feed(b"{\"snap".to_vec());
        drop(decoder);
    }
}
