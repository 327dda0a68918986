//! Decoding arbitrary or hostile bytes never panics and never holds more than
//! 16 × the input size + 64 KiB of heap, measured by a counting global allocator.
//!
//! The counters are per thread, so tests running in parallel do not disturb each other.

use godot_variant::*;
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn add(n: usize) {
    let _ = CURRENT.try_with(|c| {
        let now = c.get() + n;
        c.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

fn sub(n: usize) {
    let _ = CURRENT.try_with(|c| c.set(c.get().saturating_sub(n)));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the thread-local
// counters are const-initialised Cells, which neither allocate nor unwind.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        add(l.size());
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        sub(l.size());
        // SAFETY: `p` came from System with layout `l`.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        add(l.size());
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // Counted as holding both blocks at once, the worst case of a moving realloc.
        add(new);
        sub(l.size());
        // SAFETY: `p` came from System with layout `l`; `new` is the caller's valid size.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Decodes `buf` (objects allowed, the more permissive path) and returns the peak heap held
/// during the call, above what was held before it, including the result.
fn peak_of_decode(buf: &[u8]) -> (usize, Result<(Variant, usize), DecodeError>) {
    let base = CURRENT.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let r = decode_with(
        buf,
        DecodeOptions {
            allow_objects: true,
        },
    );
    let peak = PEAK.with(Cell::get) - base;
    (peak, r)
}

fn bound(len: usize) -> usize {
    16 * len + 64 * 1024
}

fn check(buf: &[u8]) -> Result<(Variant, usize), DecodeError> {
    let (peak, r) = peak_of_decode(buf);
    assert!(
        peak <= bound(buf.len()),
        "{peak} bytes held for {} input bytes",
        buf.len()
    );
    r
}

fn words(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Values that are mostly headers and counts, the densest the format allows.
fn dense(kind: u8, n: u32) -> Vec<u8> {
    let mut b = words(&[28, n]);
    for _ in 0..n {
        match kind {
            0 => b.extend(words(&[0])),                     // NIL
            1 => b.extend(words(&[28, 0])),                 // []
            2 => b.extend(words(&[27, 0])),                 // {}
            3 => b.extend(words(&[4, 0])),                  // ""
            4 => b.extend(words(&[0x1_0018, 1, 0])),        // object id 1
            5 => b.extend(words(&[22, 0x8000_0000, 0, 0])), // NodePath("")
            6 => b.extend(words(&[26, 0, 1, 0])),           // Signal
            7 => b.extend(words(&[0x2_001c, 0, 0])),        // Array[""]([])
            8 => b.extend(words(&[24, 1, 0x41, 0])),        // Object(A) without properties
            _ => b.extend(words(&[17; 10])),                // Basis (boxed)
        }
    }
    b
}

#[test]
fn dense_structures_stay_within_the_bound() {
    for kind in 0..10 {
        let b = dense(kind, 20_000);
        let (peak, r) = peak_of_decode(&b);
        r.unwrap();
        println!(
            "kind {kind}: {peak} bytes for {} ({:.1}x)",
            b.len(),
            peak as f64 / b.len() as f64
        );
        assert!(
            peak <= bound(b.len()),
            "kind {kind}: {peak} for {}",
            b.len()
        );
    }
    // A dictionary of many NIL:int entries (the index is held too), and a PackedStringArray
    // of empty strings.
    let mut d = words(&[27, 20_000]);
    for i in 0..20_000 {
        d.extend(words(&[2, i, 0]));
    }
    check(&d).unwrap();
    let mut s = words(&[34, 50_000]);
    s.extend(words(&[0; 50_000]));
    check(&s).unwrap();
}

#[test]
fn forged_counts_reserve_nothing() {
    // Nested containers each claiming 0x7FFF_FFFF elements, then the bytes run out.
    let mut b = Vec::new();
    for _ in 0..1000 {
        b.extend(words(&[28, 0x7FFF_FFFF]));
    }
    let (peak, r) = peak_of_decode(&b);
    assert!(r.is_err());
    assert!(peak < 64 * 1024, "{peak}");
    for ty in [27u32, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38] {
        let b = words(&[ty, 0x7FFF_FFFF, 0, 0]);
        let (peak, r) = peak_of_decode(&b);
        assert!(r.is_err(), "{ty}");
        assert!(peak < 1024, "{ty}: {peak}");
    }
}

#[test]
fn deep_nesting_is_bounded() {
    let mut b = Vec::new();
    for _ in 0..100_000 {
        b.extend(words(&[28, 1]));
    }
    let (_, r) = peak_of_decode(&b);
    assert_eq!(r.unwrap_err().godot_code(), 6);
    let mut ok = Vec::new();
    for i in 0..1025 {
        ok.extend(words(&[28, u32::from(i < 1024)]));
    }
    check(&ok).unwrap();
}

fn seed_value() -> Variant {
    let mut d = Dictionary::new();
    d.insert("hp", 5);
    d.insert("pos", Vector2::new(1.5, -2.25));
    d.insert(
        StringName("n".into()),
        NodePath::parse("/root/Main:position:x"),
    );
    d.insert(
        1,
        vec![Variant::from("héllo"), 0.1.into(), Object::Id(9).into()],
    );
    d.insert("bytes", vec![1u8, 2, 3, 4, 5]);
    d.insert("strings", vec!["a".to_string(), "bc".into()]);
    d.insert("vecs", vec![Vector3::new(1.0, 2.0, 3.0)]);
    d.insert(
        "obj",
        Object::Full {
            class: "Node".into(),
            properties: vec![("name".into(), "x".into())],
        },
    );
    d.insert(
        "typed",
        Array::typed(
            ArrayType::Builtin(VariantType::Int),
            vec![1.into(), 2.into()],
        ),
    );
    d.insert("t3d", Transform3D::default());
    d.into()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(buf in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = check(&buf);
    }

    #[test]
    fn arbitrary_words_never_panic_and_stay_bounded(
        w in prop::collection::vec(prop_oneof![0u32..40, 0x1_0000u32..0x1_0028, 0x2_001cu32..0x2_001d, any::<u32>()], 0..512)
    ) {
        // Small words look like headers and counts far more often than random bytes do.
        let _ = check(&words(&w));
    }

    #[test]
    fn mutated_encodings_never_panic_and_stay_bounded(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut b = Vec::new();
        encode_with(&seed_value(), &mut b, EncodeOptions { full_objects: true, ..Default::default() }).unwrap();
        for (i, byte) in edits {
            let i = i.index(b.len());
            b[i] = byte;
        }
        let n = cut.index(b.len() + 1);
        let _ = check(&b[..n]);
    }
}
