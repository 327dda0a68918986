//! `enet serve --scene`: a dedicated SceneMultiplayer host (Godot 4.3's protocol) that stock
//! Godot clients join. It relays like a Godot host with `server_relay`, prints every event,
//! and can answer declared RPCs (`--echo-rpc PATH:METHOD`).

use std::collections::BTreeMap;
use std::time::Duration;

use enet::CompressionMode;
use enet_multiplayer::EnetMultiplayerPeer;
use godot_variant::Variant;
use scene_multiplayer::{NodeRpcs, RpcConfig, SceneEvent, SceneMultiplayer};
use serde_json::{json, Value};

use crate::common::{usage_error, CliResult, Out};
use crate::serve::Args;

/// Parses the `--echo-rpc PATH:METHOD` values into node path → method names.
fn echo_table(specs: &[String]) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut t: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in specs {
        let Some((path, method)) = s.rsplit_once(':') else {
            return Err(format!("--echo-rpc {s:?}: expected PATH:METHOD"));
        };
        let path = path.trim_start_matches("/root/");
        if path.is_empty() || method.is_empty() {
            return Err(format!("--echo-rpc {s:?}: expected PATH:METHOD"));
        }
        t.entry(path.to_owned())
            .or_default()
            .push(method.to_owned());
    }
    Ok(t)
}

/// A Variant as JSON: null, bool, numbers, strings (String, StringName, NodePath), arrays
/// (Array and packed arrays), objects (Dictionary, keys as text); every other type as its
/// `var_to_str` text.
pub fn variant_json(v: &Variant) -> Value {
    match v {
        Variant::Nil => Value::Null,
        Variant::Bool(b) => json!(b),
        Variant::Int(i) => json!(i),
        Variant::Float(f) => json!(f),
        Variant::String(s) => json!(s),
        Variant::Array(a) => Value::Array(a.items.iter().map(variant_json).collect()),
        Variant::Dictionary(d) => {
            let mut m = serde_json::Map::new();
            for (k, v) in d.iter() {
                let key = match k {
                    Variant::String(s) => s.clone(),
                    other => other.to_string(),
                };
                m.insert(key, variant_json(v));
            }
            Value::Object(m)
        }
        Variant::PackedByteArray(b) => json!(b),
        Variant::PackedInt32Array(b) => json!(b),
        Variant::PackedInt64Array(b) => json!(b),
        Variant::PackedFloat32Array(b) => json!(b),
        Variant::PackedFloat64Array(b) => json!(b),
        Variant::PackedStringArray(b) => json!(b),
        other => json!(other.to_string()),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn serve_scene(
    a: &Args,
    compress: CompressionMode,
    out: &Out,
    done: impl Fn() -> bool,
) -> CliResult {
    let echo = match echo_table(&a.echo_rpc) {
        Ok(t) => t,
        Err(e) => return usage_error(&e),
    };
    let mut peer = EnetMultiplayerPeer::new();
    peer.set_bind_ip(&a.bind)
        .map_err(|e| format!("--bind {:?}: {e}", a.bind))?;
    peer.create_server(a.port, a.max_clients, a.channels, 0, 0)
        .map_err(|e| format!("cannot serve on port {}: {e}", a.port))?;
    let host = peer.host().expect("server has a host");
    host.compress(compress).map_err(|e| e.to_string())?;
    host.set_checksum(a.checksum).map_err(|e| e.to_string())?;
    let dtls = crate::tls::server_setup(host, &a.tls)?;
    let addr = host.local_addr().map_err(|e| e.to_string())?;
    let mut mp = SceneMultiplayer::new(peer);
    for (path, methods) in &echo {
        let rpcs = methods.iter().map(RpcConfig::any_peer).collect();
        mp.declare_node(path, NodeRpcs::new(rpcs));
    }
    out.emit(
        || {
            format!(
                "listening on {addr} (scene mode, relay{})",
                crate::serve::dtls_note(dtls)
            )
        },
        || json!({"event": "listening", "addr": addr.to_string(), "mode": "scene", "dtls": dtls}),
    );
    out.flush();
    let (mut rpcs, mut raws) = (0u64, 0u64);
    while !done() {
        mp.peer_mut().poll_with_timeout(Duration::from_millis(5));
        mp.poll();
        while let Some(ev) = mp.poll_event() {
            match ev {
                SceneEvent::PeerConnected(id) => out.emit(
                    || format!("peer_connected id={id}"),
                    || json!({"event": "peer_connected", "id": id}),
                ),
                SceneEvent::PeerDisconnected(id) => out.emit(
                    || format!("peer_disconnected id={id}"),
                    || json!({"event": "peer_disconnected", "id": id}),
                ),
                SceneEvent::PeerAuthenticating(id) => out.emit(
                    || format!("peer_authenticating id={id}"),
                    || json!({"event": "peer_authenticating", "id": id}),
                ),
                SceneEvent::PeerAuthenticationFailed(id) => out.emit(
                    || format!("peer_authentication_failed id={id}"),
                    || json!({"event": "peer_authentication_failed", "id": id}),
                ),
                SceneEvent::Rpc {
                    from,
                    path,
                    method,
                    args,
                } => {
                    rpcs += 1;
                    out.emit(
                        || {
                            let list: Vec<String> = args.iter().map(|v| v.to_string()).collect();
                            format!("rpc from={from} {path}.{method}({})", list.join(", "))
                        },
                        || {
                            let j: Vec<Value> = args.iter().map(variant_json).collect();
                            json!({"event": "rpc", "from": from, "path": path,
                                   "method": method, "args": j})
                        },
                    );
                    if echo.get(&path).is_some_and(|m| m.contains(&method)) {
                        let _ = mp.rpc_id(from, &path, &method, &args);
                    }
                }
                SceneEvent::Bytes { from, data } => {
                    raws += 1;
                    out.emit(
                        || format!("bytes from={from} len={} hex={}", data.len(), hex(&data)),
                        || {
                            json!({"event": "bytes", "from": from, "len": data.len(),
                                   "hex": hex(&data)})
                        },
                    );
                }
                // A server sees no other events (auth is not enabled here).
                _ => {}
            }
        }
        out.flush();
    }
    let ids = mp.get_peers().to_vec();
    for id in ids {
        mp.disconnect_peer(id);
    }
    for _ in 0..50 {
        mp.peer_mut().poll_with_timeout(Duration::from_millis(10));
        mp.poll();
        if mp.get_peers().is_empty() {
            break;
        }
    }
    let drops = mp.drops().total();
    out.emit(
        || format!("stopped after {rpcs} rpcs, {raws} byte packets, {drops} dropped"),
        || json!({"event": "stopped", "rpcs": rpcs, "bytes": raws, "dropped": drops}),
    );
    Ok(0)
}
