//! [`DgramIo`]: the in-memory datagram "socket" under each OpenSSL DTLS session. OpenSSL
//! reads at most one datagram per read (the one just received) and each of its writes
//! becomes one outgoing datagram; the buffers are reused, so after warm-up no datagram
//! allocates.

use std::io::{self, Read, Write};

/// One session's datagram buffers.
#[derive(Default)]
pub(crate) struct DgramIo {
    inbox: Vec<u8>,
    has_inbox: bool,
    out: Vec<u8>,
    out_lens: Vec<usize>,
}

impl DgramIo {
    /// Offers `data` as the next (and only) datagram OpenSSL can read.
    pub(crate) fn put(&mut self, data: &[u8]) {
        self.inbox.clear();
        self.inbox.extend_from_slice(data);
        self.has_inbox = true;
    }

    /// Forgets an unread incoming datagram; true if there was one.
    pub(crate) fn discard(&mut self) -> bool {
        std::mem::replace(&mut self.has_inbox, false)
    }

    /// Calls `send` with each datagram OpenSSL wrote, in order, and forgets them.
    pub(crate) fn drain(&mut self, mut send: impl FnMut(&[u8])) -> usize {
        let mut at = 0;
        for &len in &self.out_lens {
            send(&self.out[at..at + len]);
            at += len;
        }
        let n = self.out_lens.len();
        self.out.clear();
        self.out_lens.clear();
        n
    }

    /// Forgets what OpenSSL wrote.
    pub(crate) fn clear_out(&mut self) {
        self.out.clear();
        self.out_lens.clear();
    }
}

impl Read for DgramIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Nothing to read, or an empty datagram (a 0-byte read would mean end-of-file).
        if !self.has_inbox || self.inbox.is_empty() {
            self.has_inbox = false;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.has_inbox = false;
        // A datagram longer than OpenSSL's buffer is cut short; OpenSSL then drops it as
        // malformed (the layer drops datagrams that large before they get here anyway).
        let n = self.inbox.len().min(buf.len());
        buf[..n].copy_from_slice(&self.inbox[..n]);
        Ok(n)
    }
}

impl Write for DgramIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(buf);
        self.out_lens.push(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
