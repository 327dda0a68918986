//! ENet's built-in datagram compressor: an adaptive order-2 PPM model driving a carry-less
//! 32-bit range coder (spec §12).
//!
//! The output is bit-identical to the C library's `enet_range_coder_compress`, and
//! [`RangeCoder::decompress`] reads anything the C encoder produces. Every call starts from a
//! fresh model, as ENet does for each datagram.
//!
//! The model is a fixed table of [`MODEL_NODES`] nodes kept inside the [`RangeCoder`], so no
//! memory is allocated after construction. Node links are stored as absolute table indices
//! (0 = none, since index 0 is always the order-0 context and never a child); the C library
//! stores relative offsets, which is only a representation detail and does not affect the
//! bitstream.
//!
//! Longer than ~600 lines because the model, the encoder and the decoder are one bit-exact
//! port of C's `enet_range_coder_*` that is checked against the C source side by side; split,
//! the symbol-update steps each half depends on would sit apart from their mirror images.

use crate::compress::Compressor;

/// Number of nodes in the model table.
pub const MODEL_NODES: usize = 4096;

/// Renormalisation threshold: bytes are shifted out while the top byte of the interval is settled.
const TOP: u32 = 1 << 24;
/// Minimum range kept after renormalisation.
const BOTTOM: u32 = 1 << 16;

/// Frequency increment for a symbol coded in the order-0 context.
const ROOT_SYMBOL_DELTA: u16 = 3;
/// Base frequency every byte value has in the order-0 context.
const ROOT_SYMBOL_MINIMUM: u16 = 1;
/// Escape count of a freshly reset order-0 context.
const ROOT_ESCAPE_MINIMUM: u16 = 1;
/// Highest context order used for prediction.
const SUBCONTEXT_ORDER: usize = 2;
/// Frequency increment for a symbol coded in an order-1 or order-2 context.
const SUB_SYMBOL_DELTA: u16 = 2;
/// Escape increment of an order-1 or order-2 context when a new symbol is added to it.
const SUB_ESCAPE_DELTA: u16 = 5;

/// A higher-order context is rescaled once the coded symbol's previous count exceeds this.
const SUB_RESCALE_COUNT: u16 = 0xFF - 2 * SUB_SYMBOL_DELTA;
/// The order-0 context is rescaled once the coded symbol's frequency (including its base)
/// exceeds this.
const ROOT_RESCALE_COUNT: u16 = 0xFF - 2 * ROOT_SYMBOL_DELTA + ROOT_SYMBOL_MINIMUM;
/// Any context is rescaled once its total exceeds this.
const RESCALE_TOTAL: u16 = (BOTTOM - 0x100) as u16;
/// The model is reset after a byte when this many nodes are in use.
const RESET_THRESHOLD: usize = MODEL_NODES - SUBCONTEXT_ORDER;

/// Index of the order-0 context node.
const ROOT: u16 = 0;

/// Upper bound on context-chain walks. A well-formed model never has more than
/// [`SUBCONTEXT_ORDER`] contexts above the root; the bound only guards against a logic error.
const MAX_CHAIN: usize = SUBCONTEXT_ORDER + 2;
/// Upper bound on renormalisation steps per coded symbol. At most about 8 can occur, even on
/// corrupt input; the bound only makes termination obvious.
const MAX_NORMALISE_STEPS: usize = 16;

/// One model node. It is both a symbol in the binary search tree of its context and the
/// context formed by appending that symbol to its context.
#[derive(Clone, Copy, Default)]
struct Node {
    /// Symbol role: byte value (BST key).
    value: u8,
    /// Symbol role: frequency count.
    count: u8,
    /// Symbol role: own count plus the counts of the left subtree.
    under: u16,
    /// Symbol role: left child index, 0 = none.
    left: u16,
    /// Symbol role: right child index, 0 = none.
    right: u16,
    /// Context role: index of the root of this context's symbol tree, 0 = empty.
    symbols: u16,
    /// Context role: escape count.
    escapes: u16,
    /// Context role: escapes + sum of counts (+ 256 base frequencies for the order-0 context).
    total: u16,
    /// Suffix link: the node of the same byte one order lower (0 = order-0 context).
    parent: u16,
}

/// Where the next chosen node index is recorded while walking down the context chain.
#[derive(Clone, Copy)]
enum Link {
    /// Into the `predicted` context variable.
    Predicted,
    /// Into the `parent` field of this node.
    Parent(u16),
}

/// Result of looking up (and counting) a byte in a context.
#[derive(Clone, Copy)]
struct Found {
    /// The node holding the byte in the context's tree.
    node: u16,
    /// Cumulative frequency of all smaller bytes (including base frequencies).
    under: u16,
    /// Frequency of the byte before this update; equals the base if it was just inserted.
    count: u16,
}

/// ENet's range coder (`enet_host_compress_with_range_coder`), bit-exact with the C library.
///
/// Construct once and reuse: the 4096-node model and rescaling scratch space live in the
/// struct (about 80 KiB on the heap), and [`Compressor::compress`] and
/// [`Compressor::decompress`] do not allocate.
pub struct RangeCoder {
    /// The model table.
    nodes: Box<[Node]>,
    /// Number of nodes in use.
    next_node: usize,
    /// Scratch: nodes of the tree being rescaled, parents before children.
    scratch_order: Box<[u16]>,
    /// Scratch: per-node subtree sums while rescaling.
    scratch_sum: Box<[u16]>,
}

impl Default for RangeCoder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for RangeCoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeCoder").finish_non_exhaustive()
    }
}

impl RangeCoder {
    /// Creates a range coder with its model table allocated.
    pub fn new() -> Self {
        Self {
            nodes: vec![Node::default(); MODEL_NODES].into_boxed_slice(),
            next_node: 0,
            scratch_order: vec![0; MODEL_NODES].into_boxed_slice(),
            scratch_sum: vec![0; MODEL_NODES].into_boxed_slice(),
        }
    }

    /// Empties the model, leaving only the order-0 context.
    fn reset_model(&mut self) {
        self.next_node = 0;
        // Cannot fail on an empty table.
        let _ = self.create(0, 0);
        let root = &mut self.nodes[usize::from(ROOT)];
        root.escapes = ROOT_ESCAPE_MINIMUM;
        root.total = ROOT_ESCAPE_MINIMUM + 256 * ROOT_SYMBOL_MINIMUM;
    }

    /// Takes the next free node and initialises it as symbol `value` with frequency `count`.
    fn create(&mut self, value: u8, count: u8) -> Option<u16> {
        let index = self.next_node;
        let node = self.nodes.get_mut(index)?;
        *node = Node {
            value,
            count,
            under: u16::from(count),
            ..Node::default()
        };
        self.next_node += 1;
        u16::try_from(index).ok()
    }

    #[inline]
    fn node(&self, index: u16) -> &Node {
        &self.nodes[usize::from(index)]
    }

    #[inline]
    fn node_mut(&mut self, index: u16) -> &mut Node {
        &mut self.nodes[usize::from(index)]
    }

    /// Records `node` at `link` and returns the link for the next (lower-order) node.
    #[inline]
    fn write_link(&mut self, predicted: &mut u16, link: Link, node: u16) -> Link {
        match link {
            Link::Predicted => *predicted = node,
            Link::Parent(owner) => self.node_mut(owner).parent = node,
        }
        Link::Parent(node)
    }

    /// Looks up `value` in context `ctx`, inserting it with frequency `inc` if absent, and
    /// otherwise adding `inc` to its frequency. `base` is the base frequency of every byte
    /// value in this context (1 for the order-0 context, 0 otherwise).
    fn find_or_insert(&mut self, ctx: u16, value: u8, inc: u16, base: u16) -> Option<Found> {
        let mut under = u16::from(value).wrapping_mul(base);
        let mut count = base;
        // Node counts never exceed 255 (the rescale thresholds keep them below), so the
        // truncation of `inc` is exact.
        let inc8 = inc as u8;
        let first = self.node(ctx).symbols;
        if first == 0 {
            let created = self.create(value, inc8)?;
            self.node_mut(ctx).symbols = created;
            return Some(Found {
                node: created,
                under,
                count,
            });
        }
        let mut index = first;
        loop {
            let node = *self.node(index);
            if value < node.value {
                self.node_mut(index).under = node.under.wrapping_add(inc);
                if node.left != 0 {
                    index = node.left;
                    continue;
                }
                let created = self.create(value, inc8)?;
                self.node_mut(index).left = created;
                return Some(Found {
                    node: created,
                    under,
                    count,
                });
            } else if value > node.value {
                under = under.wrapping_add(node.under);
                if node.right != 0 {
                    index = node.right;
                    continue;
                }
                let created = self.create(value, inc8)?;
                self.node_mut(index).right = created;
                return Some(Found {
                    node: created,
                    under,
                    count,
                });
            } else {
                count = count.wrapping_add(u16::from(node.count));
                under = under.wrapping_add(node.under.wrapping_sub(u16::from(node.count)));
                let n = self.node_mut(index);
                n.under = n.under.wrapping_add(inc);
                n.count = n.count.wrapping_add(inc8);
                return Some(Found {
                    node: index,
                    under,
                    count,
                });
            }
        }
    }

    /// Halves (rounding up) every count in context `ctx`, recomputes the `under` sums, halves
    /// the escape count and recomputes the total. `base` is as in [`Self::find_or_insert`].
    fn rescale(&mut self, ctx: u16, base: u16) {
        let first = self.node(ctx).symbols;
        let mut sum_total: u16 = 0;
        if first != 0 {
            // Breadth-first listing: every parent precedes its children. Links always point
            // to later-created nodes, so the structure is a tree of at most MODEL_NODES nodes.
            let mut len = 0usize;
            self.scratch_order[0] = first;
            len += 1;
            let mut i = 0usize;
            while i < len {
                let n = *self.node(self.scratch_order[i]);
                i += 1;
                for child in [n.left, n.right] {
                    if child != 0 {
                        if let Some(slot) = self.scratch_order.get_mut(len) {
                            *slot = child;
                            len += 1;
                        }
                    }
                }
            }
            // Children before parents: subtree sums are available when a node is reached.
            for j in (0..len).rev() {
                let index = self.scratch_order[j];
                let n = *self.node(index);
                let count = n.count - (n.count >> 1);
                let mut under = u16::from(count);
                if n.left != 0 {
                    under = under.wrapping_add(self.scratch_sum[usize::from(n.left)]);
                }
                let mut subtree = under;
                if n.right != 0 {
                    subtree = subtree.wrapping_add(self.scratch_sum[usize::from(n.right)]);
                }
                self.scratch_sum[usize::from(index)] = subtree;
                let node = self.node_mut(index);
                node.count = count;
                node.under = under;
            }
            sum_total = self.scratch_sum[usize::from(first)];
        }
        let c = self.node_mut(ctx);
        c.escapes -= c.escapes >> 1;
        c.total = sum_total
            .wrapping_add(c.escapes)
            .wrapping_add(256u16.wrapping_mul(base));
    }

    /// Applies the post-symbol updates shared by the encoder and the decoder's patch loop to
    /// a higher-order context in which the byte had previous count `count` (0 = escaped).
    fn update_subcontext(&mut self, ctx: u16, count: u16) {
        if count == 0 {
            let c = self.node_mut(ctx);
            c.escapes = c.escapes.wrapping_add(SUB_ESCAPE_DELTA);
            c.total = c.total.wrapping_add(SUB_ESCAPE_DELTA);
        }
        self.bump_subcontext(ctx, count);
    }

    /// Adds the symbol increment to a higher-order context's total and rescales it if needed.
    fn bump_subcontext(&mut self, ctx: u16, count: u16) {
        let c = self.node_mut(ctx);
        c.total = c.total.wrapping_add(SUB_SYMBOL_DELTA);
        if count > SUB_RESCALE_COUNT || c.total > RESCALE_TOTAL {
            self.rescale(ctx, 0);
        }
    }

    /// Applies the post-symbol updates of the order-0 context.
    fn update_root(&mut self, count: u16) {
        let root = self.node_mut(ROOT);
        root.total = root.total.wrapping_add(ROOT_SYMBOL_DELTA);
        if count > ROOT_RESCALE_COUNT || root.total > RESCALE_TOTAL {
            self.rescale(ROOT, ROOT_SYMBOL_MINIMUM);
        }
    }

    /// Moves the prediction context on after a byte, resetting the model when it is nearly full.
    fn advance(&mut self, predicted: &mut u16, order: &mut usize) {
        if *order >= SUBCONTEXT_ORDER {
            *predicted = self.node(*predicted).parent;
        } else {
            *order += 1;
        }
        if self.next_node >= RESET_THRESHOLD {
            self.reset_model();
            *predicted = ROOT;
            *order = 0;
        }
    }

    /// Encodes one byte, updating the model.
    fn encode_byte(
        &mut self,
        enc: &mut Encoder<'_>,
        value: u8,
        predicted: &mut u16,
        order: &mut usize,
    ) -> Option<()> {
        let mut link = Link::Predicted;
        let mut ctx = *predicted;
        let mut steps = 0;
        let mut coded_above_root = false;
        while ctx != ROOT {
            steps += 1;
            if steps > MAX_CHAIN {
                return None;
            }
            let found = self.find_or_insert(ctx, value, SUB_SYMBOL_DELTA, 0)?;
            link = self.write_link(predicted, link, found.node);
            let c = *self.node(ctx);
            if found.count > 0 {
                enc.encode(
                    u32::from(c.escapes) + u32::from(found.under),
                    u32::from(found.count),
                    u32::from(c.total),
                )?;
            } else if c.escapes > 0 && c.escapes < c.total {
                enc.encode(0, u32::from(c.escapes), u32::from(c.total))?;
            }
            self.update_subcontext(ctx, found.count);
            if found.count > 0 {
                coded_above_root = true;
                break;
            }
            ctx = self.node(ctx).parent;
        }
        if !coded_above_root {
            let found = self.find_or_insert(ROOT, value, ROOT_SYMBOL_DELTA, ROOT_SYMBOL_MINIMUM)?;
            // The order-0 node keeps its suffix link (always the root).
            self.write_link(predicted, link, found.node);
            let root = *self.node(ROOT);
            enc.encode(
                u32::from(root.escapes) + u32::from(found.under),
                u32::from(found.count),
                u32::from(root.total),
            )?;
            self.update_root(found.count);
        }
        self.advance(predicted, order);
        Some(())
    }

    /// Decodes a symbol from the tree of higher-order context `ctx` given the cumulative
    /// frequency `code` (escapes already subtracted). Returns (node, value, under, count), or
    /// `None` if the code does not correspond to any symbol (corrupt stream).
    fn decode_in_subcontext(&mut self, ctx: u16, code: u16) -> Option<(u16, u8, u16, u16)> {
        let mut index = self.node(ctx).symbols;
        if index == 0 {
            return None;
        }
        let mut under: u16 = 0;
        loop {
            let n = *self.node(index);
            let after = under.wrapping_add(n.under);
            let before = u16::from(n.count);
            if code >= after {
                under = under.wrapping_add(n.under);
                if n.right == 0 {
                    return None;
                }
                index = n.right;
            } else if i32::from(code) < i32::from(after) - i32::from(before) {
                self.node_mut(index).under = n.under.wrapping_add(SUB_SYMBOL_DELTA);
                if n.left == 0 {
                    return None;
                }
                index = n.left;
            } else {
                let node = self.node_mut(index);
                node.under = node.under.wrapping_add(SUB_SYMBOL_DELTA);
                node.count = node.count.wrapping_add(SUB_SYMBOL_DELTA as u8);
                return Some((index, n.value, after.wrapping_sub(before), before));
            }
        }
    }

    /// Decodes a symbol from the order-0 context, where every byte value has base frequency
    /// 1, given the cumulative frequency `code` (escapes already subtracted). Absent values
    /// are inserted. Returns (node, value, under, count).
    fn decode_in_root(&mut self, code: u16) -> Option<(u16, u8, u16, u16)> {
        let inc8 = ROOT_SYMBOL_DELTA as u8;
        let mut index = self.node(ROOT).symbols;
        if index == 0 {
            // Truncation to a byte mirrors the C coder on corrupt input.
            let value = code as u8;
            let created = self.create(value, inc8)?;
            self.node_mut(ROOT).symbols = created;
            return Some((created, value, code, ROOT_SYMBOL_MINIMUM));
        }
        let mut under: u16 = 0;
        loop {
            let n = *self.node(index);
            let after = under
                .wrapping_add(n.under)
                .wrapping_add(u16::from(n.value) + 1);
            let before = u16::from(n.count) + ROOT_SYMBOL_MINIMUM;
            if code >= after {
                under = under.wrapping_add(n.under);
                if n.right != 0 {
                    index = n.right;
                    continue;
                }
                let value = (i32::from(n.value) + 1 + (i32::from(code) - i32::from(after))) as u8;
                let created = self.create(value, inc8)?;
                self.node_mut(index).right = created;
                return Some((created, value, code, ROOT_SYMBOL_MINIMUM));
            }
            let gap = i32::from(after) - i32::from(before);
            if i32::from(code) < gap {
                self.node_mut(index).under = n.under.wrapping_add(ROOT_SYMBOL_DELTA);
                if n.left != 0 {
                    index = n.left;
                    continue;
                }
                let value = (i32::from(n.value) - (gap - i32::from(code))) as u8;
                let created = self.create(value, inc8)?;
                self.node_mut(index).left = created;
                return Some((created, value, code, ROOT_SYMBOL_MINIMUM));
            }
            let node = self.node_mut(index);
            node.under = node.under.wrapping_add(ROOT_SYMBOL_DELTA);
            node.count = node.count.wrapping_add(inc8);
            return Some((
                index,
                n.value,
                after.wrapping_sub(before),
                ROOT_SYMBOL_MINIMUM + u16::from(n.count),
            ));
        }
    }

    /// Decodes one byte and brings the model up to date exactly as the encoder did.
    /// Returns `Some(None)` at the end of the stream and `None` if the stream is corrupt.
    fn decode_byte(&mut self, dec: &mut Decoder<'_>, predicted: &mut u16) -> Option<Option<u8>> {
        // Try the higher-order contexts first, then the order-0 context.
        let mut ctx = *predicted;
        let mut hit: Option<(u16, u8)> = None;
        let mut steps = 0;
        while ctx != ROOT {
            steps += 1;
            if steps > MAX_CHAIN {
                return None;
            }
            let c = *self.node(ctx);
            // A context the encoder could not have coded in (fresh, nothing to escape from).
            if c.escapes == 0 || c.escapes >= c.total {
                ctx = c.parent;
                continue;
            }
            let code = dec.read(u32::from(c.total))?;
            if code < c.escapes {
                dec.decode(0, u32::from(c.escapes))?;
                ctx = c.parent;
                continue;
            }
            let (node, value, under, count) = self.decode_in_subcontext(ctx, code - c.escapes)?;
            dec.decode(u32::from(c.escapes) + u32::from(under), u32::from(count))?;
            // The symbol's own count is already bumped; no escape update here.
            self.bump_subcontext(ctx, count);
            hit = Some((node, value));
            break;
        }
        let decoded_in = ctx;
        let (bottom, value) = match hit {
            Some(h) => h,
            None => {
                let root = *self.node(ROOT);
                let code = dec.read(u32::from(root.total))?;
                if code < root.escapes {
                    // An escape from the order-0 context terminates the stream.
                    dec.decode(0, u32::from(root.escapes))?;
                    return Some(None);
                }
                let (node, value, under, count) = self.decode_in_root(code - root.escapes)?;
                dec.decode(u32::from(root.escapes) + u32::from(under), u32::from(count))?;
                self.update_root(count);
                (node, value)
            }
        };

        // Update the contexts that were escaped (or skipped) the way the encoder did, and
        // rebuild the suffix chain ending in the node the byte was decoded with.
        let mut link = Link::Predicted;
        let mut c = *predicted;
        let mut steps = 0;
        while c != decoded_in {
            steps += 1;
            if steps > MAX_CHAIN {
                return None;
            }
            let found = self.find_or_insert(c, value, SUB_SYMBOL_DELTA, 0)?;
            link = self.write_link(predicted, link, found.node);
            self.update_subcontext(c, found.count);
            c = self.node(c).parent;
        }
        self.write_link(predicted, link, bottom);
        Some(Some(value))
    }
}

impl Compressor for RangeCoder {
    fn compress(&mut self, input: &[u8], out: &mut [u8]) -> Option<usize> {
        if input.is_empty() {
            return None;
        }
        self.reset_model();
        let mut enc = Encoder {
            low: 0,
            range: u32::MAX,
            out,
            pos: 0,
        };
        let mut predicted = ROOT;
        let mut order = 0usize;
        for &value in input {
            self.encode_byte(&mut enc, value, &mut predicted, &mut order)?;
        }
        enc.flush()?;
        // C reports zero bytes as failure; unreachable for non-empty input in practice.
        (enc.pos > 0).then_some(enc.pos)
    }

    fn decompress(&mut self, input: &[u8], out: &mut [u8]) -> Option<usize> {
        if input.is_empty() {
            return None;
        }
        self.reset_model();
        let mut dec = Decoder::new(input);
        let mut predicted = ROOT;
        let mut order = 0usize;
        let mut written = 0usize;
        // Every iteration either produces a byte (bounded by `out.len()`), ends, or fails.
        while let Some(value) = self.decode_byte(&mut dec, &mut predicted)? {
            *out.get_mut(written)? = value;
            written += 1;
            self.advance(&mut predicted, &mut order);
        }
        (written > 0).then_some(written)
    }
}

/// Encoder half of the range coder, writing into a caller-supplied buffer.
struct Encoder<'a> {
    low: u32,
    range: u32,
    out: &'a mut [u8],
    pos: usize,
}

impl Encoder<'_> {
    #[inline]
    fn emit(&mut self, byte: u8) -> Option<()> {
        let slot = self.out.get_mut(self.pos)?;
        *slot = byte;
        self.pos += 1;
        Some(())
    }

    /// Narrows the interval to `[under, under + count)` out of `total` and shifts out
    /// settled bytes.
    fn encode(&mut self, under: u32, count: u32, total: u32) -> Option<()> {
        self.range = self.range.checked_div(total)?;
        self.low = self.low.wrapping_add(under.wrapping_mul(self.range));
        self.range = self.range.wrapping_mul(count);
        for _ in 0..MAX_NORMALISE_STEPS {
            if (self.low ^ self.low.wrapping_add(self.range)) >= TOP {
                if self.range >= BOTTOM {
                    return Some(());
                }
                // Shrink the range so that no carry can reach bytes already emitted.
                self.range = self.low.wrapping_neg() & (BOTTOM - 1);
            }
            self.emit((self.low >> 24) as u8)?;
            self.range <<= 8;
            self.low <<= 8;
        }
        None
    }

    /// Emits the remaining significant bytes of `low`; trailing zero bytes are implied.
    fn flush(&mut self) -> Option<()> {
        while self.low != 0 {
            self.emit((self.low >> 24) as u8)?;
            self.low <<= 8;
        }
        Some(())
    }
}

/// Decoder half of the range coder, reading from a caller-supplied buffer (zeros past its end).
struct Decoder<'a> {
    low: u32,
    range: u32,
    code: u32,
    input: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    fn new(input: &'a [u8]) -> Self {
        let mut dec = Decoder {
            low: 0,
            range: u32::MAX,
            code: 0,
            input,
            pos: 0,
        };
        for _ in 0..4 {
            dec.code = (dec.code << 8) | u32::from(dec.next_byte());
        }
        dec
    }

    #[inline]
    fn next_byte(&mut self) -> u8 {
        match self.input.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => 0,
        }
    }

    /// Scales the range to `total` and returns the cumulative frequency the code points at
    /// (truncated to 16 bits, as in C).
    fn read(&mut self, total: u32) -> Option<u16> {
        self.range = self.range.checked_div(total)?;
        let q = self.code.wrapping_sub(self.low).checked_div(self.range)?;
        Some(q as u16)
    }

    /// Consumes the interval `[under, under + count)` selected after [`Self::read`].
    fn decode(&mut self, under: u32, count: u32) -> Option<()> {
        self.low = self.low.wrapping_add(under.wrapping_mul(self.range));
        self.range = self.range.wrapping_mul(count);
        for _ in 0..MAX_NORMALISE_STEPS {
            if (self.low ^ self.low.wrapping_add(self.range)) >= TOP {
                if self.range >= BOTTOM {
                    return Some(());
                }
                self.range = self.low.wrapping_neg() & (BOTTOM - 1);
            }
            self.code = (self.code << 8) | u32::from(self.next_byte());
            self.range <<= 8;
            self.low <<= 8;
        }
        None
    }
}

#[cfg(test)]
mod tests;
