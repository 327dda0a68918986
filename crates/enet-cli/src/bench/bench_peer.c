/*
 * bench_peer.c: the C side of `enet bench --vs-c`.
 *
 * `enet bench` writes this file to a temporary directory and compiles it against the
 * system's libenet (`cc bench_peer.c $(pkg-config --cflags --libs libenet)`). It is the
 * twin of `enet bench-worker` (crates/enet-cli/src/bench_worker.rs): same arguments, same
 * algorithm, same JSON lines on stdout, so the orchestrator treats both alike. Keep the
 * two in step.
 *
 *   bench_peer server --port P --peers N --max-seconds S [--server-tick-hz H]
 *   bench_peer client --connect 127.0.0.1:P --clients K --messages M --size B
 *                     --mode reliable|unreliable|unreliable-ordered --window W
 *                     [--rate R] --timeout S --lost-after-ms L --max-seconds S
 *                     [--connect-batch B]
 *
 * Protocol settings: 1 channel, MTU 1392, no bandwidth limits, no compression, no
 * checksum; the library's own socket buffers (256 KiB). The Rust worker uses its own
 * library's default (1 MiB) unless `enet bench --c-buffers` asks for 256 KiB.
 *
 * The server is event-driven (enet_host_service with a 100 ms timeout, woken by each
 * datagram) unless --server-tick-hz H makes it tick-driven, as a game server's frame: H
 * times a second it drains every event with enet_host_service(host, &ev, 0), echoing as
 * it goes, calls enet_host_flush and sleeps until the next tick's deadline (absolute,
 * clock_nanosleep TIMER_ABSTIME), exactly as the Rust worker's tick loop.
 *
 * Client stdin/stdout handshake (lets the orchestrator sample CPU times between phases):
 *   -> {"event":"ready"}       wait for a line on stdin, then connect all K peers
 *   -> {"event":"connected"}   wait for a line on stdin, then run the transfer
 *   -> {"event":"progress"}... once a second
 *   -> {"event":"result"}      wait for EOF on stdin, then exit
 */
#define _POSIX_C_SOURCE 200809L
#include <enet/enet.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_CHANNELS 1
#define BENCH_MTU 1392
#define HEADER_SIZE 16

enum { ST_OUTSTANDING = 0, ST_ECHOED = 1, ST_LOST = 2 };

typedef struct {
    const char *role;
    unsigned port;
    size_t peers;
    char connect[64];
    size_t clients;
    uint64_t messages;
    size_t size;
    const char *mode;
    uint64_t window;
    double rate;
    double timeout;
    uint64_t lost_after_ms;
    double max_seconds;
    size_t connect_batch;
    unsigned server_tick_hz;
} Options;

typedef struct {
    ENetPeer *peer;
    uint64_t sent, echoed, lost, oldest;
    int connected;
} Client;

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* The ticks of a tick-driven server: deadlines t0 + n / hz (absolute, so they do not
 * drift); a tick that overruns its period skips the deadlines it missed instead of
 * running back to back. The same rule as the Rust worker's Ticker. */
static void tick_sleep(uint64_t *next, uint64_t period) {
    uint64_t now = now_ns();
    while (*next <= now) *next += period;
    struct timespec ts;
    ts.tv_sec = (time_t) (*next / 1000000000u);
    ts.tv_nsec = (long) (*next % 1000000000u);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void die(const char *msg) {
    fprintf(stderr, "bench_peer: %s\n", msg);
    exit(1);
}

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t) (v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t) (v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t) p[i] << (8 * i);
    return v;
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t) p[i] << (8 * i);
    return v;
}

/* Sends connection c's next message, stamped with now; its send time goes to
 * sent_at[seq] (the connection's row). */
static void send_next(Client *x, size_t c, uint64_t now, const uint8_t *template,
                      size_t size, enet_uint32 flags, uint64_t *sent_at) {
    ENetPacket *p = enet_packet_create(template, size, flags);
    if (p == NULL) die("enet_packet_create failed");
    put_u32(p->data, (uint32_t) x->sent);
    put_u32(p->data + 4, (uint32_t) c);
    put_u64(p->data + 8, now);
    sent_at[x->sent] = now;
    if (enet_peer_send(x->peer, 0, p) < 0) die("enet_peer_send failed");
    x->sent++;
}

/* Blocks until a line (or EOF) arrives on stdin; EOF before the line means the
 * orchestrator is gone: exit quietly. */
static void wait_line(void) {
    char buf[256];
    if (fgets(buf, sizeof buf, stdin) == NULL) exit(0);
}

static void wait_eof(void) {
    char buf[256];
    while (fgets(buf, sizeof buf, stdin) != NULL) {
    }
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

static double percentile_ms(const uint32_t *sorted, size_t n, double p) {
    if (n == 0) return 0.0;
    size_t i = (size_t) ((double) (n - 1) * p + 0.5);
    if (i >= n) i = n - 1;
    return sorted[i] / 1000.0;
}

static ENetHost *create_host(unsigned port, size_t peers) {
    ENetAddress a;
    if (enet_address_set_host_ip(&a, "127.0.0.1") != 0) die("bad address");
    a.port = (enet_uint16) port;
    ENetHost *h = enet_host_create(&a, peers, BENCH_CHANNELS, 0, 0);
    if (h == NULL) die("enet_host_create failed");
    /* enet_host_create reset the peers with the default MTU (1400 in 1.3.17, 1392 from
     * 1.3.18 on): set both, so that CONNECT proposes BENCH_MTU. */
    h->mtu = BENCH_MTU;
    for (size_t i = 0; i < h->peerCount; i++) h->peers[i].mtu = BENCH_MTU;
    return h;
}

static int run_server(const Options *o) {
    ENetHost *h = create_host(o->port, o->peers);
    ENetAddress bound;
    if (enet_socket_get_address(h->socket, &bound) != 0) die("enet_socket_get_address failed");
    printf("{\"event\":\"listening\",\"impl\":\"c\",\"port\":%u}\n", (unsigned) bound.port);
    fflush(stdout);
    uint64_t end = now_us() + (uint64_t) (o->max_seconds * 1e6);
    if (o->server_tick_hz > 0) {
        /* A game server's frame: every event that is there, the replies, one flush, sleep. */
        uint64_t period = 1000000000u / o->server_tick_hz;
        uint64_t next = now_ns() + period;
        while (now_us() < end) {
            ENetEvent ev;
            int r;
            while ((r = enet_host_service(h, &ev, 0)) > 0) {
                if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
                    if (enet_peer_send(ev.peer, ev.channelID, ev.packet) < 0)
                        enet_packet_destroy(ev.packet);
                }
            }
            if (r < 0) die("enet_host_service failed");
            enet_host_flush(h);
            tick_sleep(&next, period);
        }
        enet_host_destroy(h);
        return 0;
    }
    while (now_us() < end) {
        ENetEvent ev;
        int r = enet_host_service(h, &ev, 100);
        while (r > 0) {
            if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
                /* Echo the same packet to its sender, same channel, same flags. */
                if (enet_peer_send(ev.peer, ev.channelID, ev.packet) < 0)
                    enet_packet_destroy(ev.packet);
            }
            r = enet_host_service(h, &ev, 0);
        }
        if (r < 0) die("enet_host_service failed");
    }
    enet_host_destroy(h);
    return 0;
}

static int run_client(const Options *o) {
    const size_t k = o->clients;
    const uint64_t m = o->messages;
    const size_t size = o->size;
    enet_uint32 flags;
    int reliable = 0, unreliable = 0;
    if (strcmp(o->mode, "reliable") == 0) {
        flags = ENET_PACKET_FLAG_RELIABLE;
        reliable = 1;
    } else if (strcmp(o->mode, "unreliable") == 0) {
        flags = ENET_PACKET_FLAG_UNSEQUENCED | ENET_PACKET_FLAG_UNRELIABLE_FRAGMENT;
        unreliable = 1;
    } else if (strcmp(o->mode, "unreliable-ordered") == 0) {
        flags = ENET_PACKET_FLAG_UNRELIABLE_FRAGMENT;
        unreliable = 1;
    } else {
        die("bad --mode");
    }

    ENetAddress server;
    char host_part[64];
    snprintf(host_part, sizeof host_part, "%s", o->connect);
    char *colon = strrchr(host_part, ':');
    if (colon == NULL) die("bad --connect");
    *colon = 0;
    if (enet_address_set_host_ip(&server, host_part) != 0) die("bad --connect");
    server.port = (enet_uint16) atoi(colon + 1);

    ENetHost *h = create_host(0, k);
    Client *cl = calloc(k, sizeof *cl);
    uint8_t *status = calloc(k * m + 1, 1);
    uint64_t *sent_at = calloc(k * m + 1, sizeof *sent_at);
    uint32_t *rtts = malloc((k * m + 1) * sizeof *rtts);
    uint8_t *template = malloc(size);
    if (!cl || !status || !sent_at || !rtts || !template) die("out of memory");
    for (size_t i = 0; i < size; i++) template[i] = (uint8_t) (i * 31 + 7);
    size_t nrtt = 0;
    uint64_t bad = 0, late = 0, disconnects = 0;
    const char *error = NULL;
    char errbuf[160];
    const uint64_t hard_end = now_us() + (uint64_t) (o->max_seconds * 1e6);

    printf("{\"event\":\"ready\",\"impl\":\"c\"}\n");
    fflush(stdout);
    wait_line();

    /* Phase 1: connect all peers, at once or (--connect-batch B) with at most B attempts
     * pending. */
    uint64_t c0 = now_us();
    size_t up = 0, started = 0;
    uint64_t conn_end = c0 + (uint64_t) (o->timeout * 1e6);
    while (up < k && error == NULL) {
        while (started < k && (o->connect_batch == 0 || started - up < o->connect_batch)) {
            size_t c = started++;
            cl[c].peer = enet_host_connect(h, &server, BENCH_CHANNELS, (enet_uint32) c);
            if (cl[c].peer == NULL) die("enet_host_connect failed");
            cl[c].peer->data = &cl[c];
        }
        if (now_us() >= conn_end || now_us() >= hard_end) {
            snprintf(errbuf, sizeof errbuf, "only %zu of %zu peers connected in time", up, k);
            error = errbuf;
            break;
        }
        ENetEvent ev;
        int r = enet_host_service(h, &ev, 10);
        while (r > 0) {
            if (ev.type == ENET_EVENT_TYPE_CONNECT) {
                Client *c = ev.peer->data;
                if (!c->connected) {
                    c->connected = 1;
                    up++;
                }
            } else if (ev.type == ENET_EVENT_TYPE_DISCONNECT) {
                disconnects++;
                error = "a connection attempt failed";
            } else if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
                enet_packet_destroy(ev.packet);
            }
            r = enet_host_service(h, &ev, 0);
        }
        if (r < 0) die("enet_host_service failed");
    }
    double connect_s = (now_us() - c0) / 1e6;
    unsigned mtu = k > 0 ? (unsigned) cl[0].peer->mtu : 0;
    unsigned window = k > 0 ? (unsigned) cl[0].peer->windowSize : 0;
    printf("{\"event\":\"connected\",\"impl\":\"c\",\"peers\":%zu,\"connect_s\":%.6f,\"mtu\":%u,"
           "\"window_size\":%u}\n",
           up, connect_s, mtu, window);
    fflush(stdout);
    wait_line();

    /* Phase 2: the transfer. Throughput mode (rate 0): each client keeps at most `window`
     * messages awaiting their echo. Paced mode: message g (over all clients, client
     * g % k, its message g / k) is due at t0 + g / (k * rate) seconds. */
    uint64_t t0 = now_us();
    uint64_t total = (uint64_t) k * m, next_g = 0, resolved = 0, sent_total = 0;
    uint64_t last_scan = t0, last_progress = t0, last_advance = t0, last_activity = t0;
    uint64_t last_echo = 0;
    const double per_us = o->rate > 0 ? 1e6 / ((double) k * o->rate) : 0;
    while (error == NULL && resolved < total) {
        uint64_t now = now_us();
        uint64_t next_due = 0;
        if (o->rate <= 0) {
            for (size_t c = 0; c < k; c++) {
                Client *x = &cl[c];
                while (x->sent < m && x->sent - x->echoed - x->lost < o->window) {
                    send_next(x, c, now, template, size, flags, &sent_at[c * m]);
                    sent_total++;
                    last_activity = now;
                }
            }
        } else {
            while (next_g < total && t0 + (uint64_t) ((double) next_g * per_us) <= now) {
                size_t c = (size_t) (next_g % k);
                send_next(&cl[c], c, now, template, size, flags, &sent_at[c * m]);
                sent_total++;
                last_activity = now;
                next_g++;
            }
            if (next_g < total) next_due = t0 + (uint64_t) ((double) next_g * per_us);
        }
        if (unreliable && now - last_scan >= 10000) {
            last_scan = now;
            for (size_t c = 0; c < k; c++) {
                Client *x = &cl[c];
                while (x->oldest < x->sent) {
                    size_t i = c * m + x->oldest;
                    if (status[i] == ST_OUTSTANDING) {
                        if (now - sent_at[i] < o->lost_after_ms * 1000) break;
                        status[i] = ST_LOST;
                        x->lost++;
                        resolved++;
                        last_advance = now;
                        last_activity = now;
                    }
                    x->oldest++;
                }
            }
        }
        if (resolved >= total) break;
        if (now - last_progress >= 1000000) {
            last_progress = now;
            printf("{\"event\":\"progress\",\"impl\":\"c\",\"t\":%.3f,\"sent\":%" PRIu64
                   ",\"resolved\":%" PRIu64 ",\"total\":%" PRIu64 "}\n",
                   (now - t0) / 1e6, sent_total, resolved, total);
            fflush(stdout);
        }
        if (now >= hard_end || now - last_activity >= (uint64_t) (o->timeout * 1e6)) {
            snprintf(errbuf, sizeof errbuf, "stalled: %" PRIu64 " of %" PRIu64 " echoes after %.1f s",
                     resolved, total, (now - t0) / 1e6);
            error = errbuf;
            break;
        }
        enet_uint32 wait_ms = 10;
        if (next_due > 0) {
            uint64_t d = next_due > now ? (next_due - now + 999) / 1000 : 0;
            wait_ms = d < 1 ? 1 : (d > 10 ? 10 : (enet_uint32) d);
        }
        ENetEvent ev;
        int r = enet_host_service(h, &ev, wait_ms);
        while (r > 0) {
            if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
                uint64_t t = now_us();
                Client *x = ev.peer->data;
                size_t c = (size_t) (x - cl);
                ENetPacket *p = ev.packet;
                int ok = p->dataLength == size && size >= HEADER_SIZE;
                uint64_t seq = ok ? get_u32(p->data) : 0;
                ok = ok && get_u32(p->data + 4) == (uint32_t) c && seq < x->sent;
                ok = ok && ((p->flags & ENET_PACKET_FLAG_RELIABLE) != 0) == reliable;
                ok = ok && memcmp(p->data + HEADER_SIZE, template + HEADER_SIZE, size - HEADER_SIZE) == 0;
                if (!ok) {
                    bad++;
                } else {
                    size_t i = c * m + seq;
                    if (status[i] == ST_OUTSTANDING) {
                        status[i] = ST_ECHOED;
                        x->echoed++;
                        resolved++;
                        last_advance = t;
                        last_activity = t;
                        last_echo = t;
                        uint64_t stamp = get_u64(p->data + 8);
                        rtts[nrtt++] = (uint32_t) (t - stamp);
                    } else if (status[i] == ST_LOST) {
                        late++;
                    } else {
                        bad++;
                    }
                }
                enet_packet_destroy(p);
            } else if (ev.type == ENET_EVENT_TYPE_DISCONNECT) {
                disconnects++;
                error = "a peer disconnected during the transfer";
            }
            r = enet_host_service(h, &ev, 0);
        }
        if (r < 0) die("enet_host_service failed");
    }
    enet_host_flush(h);
    /* The transfer ends with the last echo (the last loss verdict if nothing came back);
     * a failed run at the failure. */
    uint64_t t_end = resolved < total ? now_us() : last_echo > 0 ? last_echo : last_advance;
    double elapsed = (t_end - t0) / 1e6;
    uint64_t echoed = 0, lost = 0;
    for (size_t c = 0; c < k; c++) {
        echoed += cl[c].echoed;
        lost += cl[c].lost;
    }
    if (error == NULL && bad > 0) error = "corrupt, duplicate or unexpected echoes";
    if (error == NULL && reliable && echoed != total) error = "reliable echoes missing";
    qsort(rtts, nrtt, sizeof *rtts, cmp_u32);
    double mean = 0;
    for (size_t i = 0; i < nrtt; i++) mean += rtts[i];
    if (nrtt > 0) mean /= nrtt;
    printf("{\"event\":\"result\",\"impl\":\"c\",\"ok\":%s,\"error\":", error ? "false" : "true");
    if (error) printf("\"%s\"", error); else printf("null");
    printf(",\"clients\":%zu,\"messages\":%" PRIu64 ",\"size\":%zu,\"mode\":\"%s\",\"sent\":%" PRIu64
           ",\"echoed\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"late\":%" PRIu64 ",\"bad\":%" PRIu64
           ",\"disconnects\":%" PRIu64 ",\"elapsed_s\":%.6f,\"connect_s\":%.6f"
           ",\"rtt_p50_ms\":%.3f,\"rtt_p99_ms\":%.3f,\"rtt_p999_ms\":%.3f"
           ",\"rtt_mean_ms\":%.3f,\"rtt_max_ms\":%.3f}\n",
           k, m, size, o->mode, sent_total, echoed, lost, late, bad, disconnects, elapsed, connect_s,
           percentile_ms(rtts, nrtt, 0.5), percentile_ms(rtts, nrtt, 0.99),
           percentile_ms(rtts, nrtt, 0.999), mean / 1000.0,
           nrtt ? rtts[nrtt - 1] / 1000.0 : 0.0);
    fflush(stdout);
    wait_eof();
    enet_host_destroy(h);
    return error ? 1 : 0;
}

int main(int argc, char **argv) {
    Options o;
    memset(&o, 0, sizeof o);
    o.mode = "reliable";
    o.window = 64;
    o.peers = 32;
    o.clients = 1;
    o.size = 64;
    o.timeout = 10;
    o.lost_after_ms = 1000;
    o.max_seconds = 600;
    if (argc < 2) die("usage: bench_peer server|client [--option value]...");
    o.role = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *key = argv[i];
        if (i + 1 >= argc) die("missing value");
        const char *v = argv[++i];
        if (strcmp(key, "--port") == 0) o.port = (unsigned) strtoul(v, NULL, 10);
        else if (strcmp(key, "--peers") == 0) o.peers = strtoul(v, NULL, 10);
        else if (strcmp(key, "--connect") == 0) snprintf(o.connect, sizeof o.connect, "%s", v);
        else if (strcmp(key, "--clients") == 0) o.clients = strtoul(v, NULL, 10);
        else if (strcmp(key, "--messages") == 0) o.messages = strtoull(v, NULL, 10);
        else if (strcmp(key, "--size") == 0) o.size = strtoul(v, NULL, 10);
        else if (strcmp(key, "--mode") == 0) o.mode = v;
        else if (strcmp(key, "--window") == 0) o.window = strtoull(v, NULL, 10);
        else if (strcmp(key, "--rate") == 0) o.rate = strtod(v, NULL);
        else if (strcmp(key, "--timeout") == 0) o.timeout = strtod(v, NULL);
        else if (strcmp(key, "--lost-after-ms") == 0) o.lost_after_ms = strtoull(v, NULL, 10);
        else if (strcmp(key, "--max-seconds") == 0) o.max_seconds = strtod(v, NULL);
        else if (strcmp(key, "--connect-batch") == 0) o.connect_batch = strtoul(v, NULL, 10);
        else if (strcmp(key, "--server-tick-hz") == 0) {
            unsigned long hz = strtoul(v, NULL, 10);
            if (hz < 1 || hz > 1000) die("--server-tick-hz must be 1..=1000");
            o.server_tick_hz = (unsigned) hz;
        }
        else {
            fprintf(stderr, "bench_peer: unknown option %s\n", key);
            return 1;
        }
    }
    if (enet_initialize() != 0) die("enet_initialize failed");
    atexit(enet_deinitialize);
    if (strcmp(o.role, "server") == 0) return run_server(&o);
    if (strcmp(o.role, "client") == 0) {
        if (o.clients == 0 || o.size < HEADER_SIZE || o.window == 0 || o.connect[0] == 0)
            die("bad client options");
        return run_client(&o);
    }
    die("role must be server or client");
    return 1;
}
