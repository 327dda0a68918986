//! Encode/decode of a typical game-state dictionary (20 keys, mixed types) and of a 4 KiB
//! PackedByteArray. Run: `cargo bench -p godot-variant`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use godot_variant::*;

fn game_state() -> Variant {
    let mut d = Dictionary::new();
    d.insert("id", 1234);
    d.insert("name", "Player_One");
    d.insert("hp", 87);
    d.insert("max_hp", 100);
    d.insert("alive", true);
    d.insert("speed", 4.5);
    d.insert("accuracy", 0.1);
    d.insert("pos", Vector2::new(1.5, -2.25));
    d.insert("vel", Vector2::new(0.25, 3.0));
    d.insert("aim", Vector3::new(0.0, 1.0, 0.0));
    d.insert("cell", Vector2i::new(12, -3));
    d.insert("color", Color::new(1.0, 0.5, 0.25, 1.0));
    d.insert("team", StringName("red".into()));
    d.insert("node", NodePath::parse("/root/Main/Players/1234"));
    d.insert(
        "inventory",
        vec![Variant::from("sword"), "shield".into(), 3.into()],
    );
    d.insert("cooldowns", vec![0.5f32, 1.0, 0.0, 2.5]);
    d.insert("score", 1_234_567_890_123i64);
    d.insert("flags", vec![1u8, 0, 1, 1]);
    let mut buffs = Dictionary::new();
    buffs.insert("haste", 2);
    buffs.insert("shield", 0.75);
    d.insert("buffs", buffs);
    d.insert("transform", Transform2D::IDENTITY);
    assert_eq!(d.len(), 20);
    d.into()
}

fn bench(c: &mut Criterion) {
    let cases = [
        ("dict20", game_state()),
        (
            "bytes4k",
            Variant::PackedByteArray((0..4096).map(|i| i as u8).collect()),
        ),
    ];
    for (name, v) in cases {
        let bytes = to_bytes(&v).unwrap();
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        let mut out = Vec::with_capacity(bytes.len());
        g.bench_function("encode", |b| {
            b.iter(|| {
                out.clear();
                encode(black_box(&v), &mut out).unwrap();
                black_box(out.len())
            })
        });
        g.bench_function("decode", |b| b.iter(|| decode(black_box(&bytes)).unwrap()));
        g.finish();
        println!("{name}: {} encoded bytes", bytes.len());
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
