/*
 * cpeer.c - a scriptable ENet test peer built against the system C library
 * (Debian libenet-dev 1.3.17). It is driven by command-line options and by
 * commands on stdin, and it reports on stdout, one line per event, flushed
 * after each line. The Rust harness in ../src/lib.rs spawns it.
 *
 * Everything here is test support: robust against bad input (prints an
 * `error` line, never crashes on a bad command), bounded in memory, and it
 * only talks to the address it is given (tests use 127.0.0.1 only).
 *
 * ------------------------------------------------------------------------
 * COMMAND LINE
 *
 *   cpeer server --port P [--bind ADDR] [--peers N] [--channels N]
 *                [common options] [--godot-ids]
 *   cpeer client --host H --port P [--bind ADDR] [--channels N] [--data D]
 *                [common options]
 *
 *   common options:
 *     --checksum         host->checksum = enet_crc32 (both ends must agree)
 *     --range-coder      enet_host_compress_with_range_coder(host)
 *     --echo             send every received packet back (see ECHO below)
 *     --print-data       append a hex dump of the payload to `receive` lines
 *     --in-bw N          incoming bandwidth for enet_host_create (default 0)
 *     --out-bw N         outgoing bandwidth for enet_host_create (default 0)
 *     --mtu N            set host->mtu before any connection (default ENet's)
 *     --greet N          on every connect, send pattern(GREET_SEED = 4711, N)
 *                        reliably on channel 0 and flush at once, from inside
 *                        the connect handler (N 1..=1024; default 0 = off)
 *
 *   server: --port 0 picks an ephemeral port. --bind defaults to 127.0.0.1.
 *           --peers defaults to 32. --channels is the host's channel limit
 *           (default 0, which ENet treats as the maximum, 255).
 *           --godot-ids behaves like Godot's ENetMultiplayerPeer server: the
 *           CONNECT event's data is the client's unique id; ids < 2 or ids
 *           already held by a connected peer are refused with
 *           enet_peer_reset() (no notification to the client), printing
 *           `refused <data>` instead of `connect ...`.
 *   client: its own socket is bound to --bind (default 127.0.0.1) port 0.
 *           --channels is the channel count requested in enet_host_connect
 *           (default 2), --data the connect data (u32, default 0).
 *
 * ------------------------------------------------------------------------
 * STDOUT (one event per line, fields separated by one space)
 *
 *   listening <port>                      server, first line: bound UDP port
 *   connecting <port>                     client, first line: its local UDP
 *                                         port; the connect is in progress
 *   connect <peer> <data> <channels> <mtu>
 *                                         ENET_EVENT_TYPE_CONNECT. <peer> is
 *                                         the peer's index in host->peers
 *                                         (always 0 on a client).
 *   receive <peer> <channel> <len> <flags> <crc32> <seed> [<hex>]
 *                                         ENET_EVENT_TYPE_RECEIVE. <flags> is
 *                                         packet->flags in decimal, <crc32>
 *                                         is the zlib-compatible CRC-32 of
 *                                         the payload as 8 lower-case hex
 *                                         digits, <seed> is the decimal seed
 *                                         if the payload is exactly
 *                                         pattern(seed, len) (see PAYLOAD),
 *                                         else `-`. <hex> only with
 *                                         --print-data (`-` if len is 0).
 *   disconnect <peer> <data>              ENET_EVENT_TYPE_DISCONNECT
 *   refused <data>                        --godot-ids refused a connection
 *   sent <count>                          after `send`/`sendn`: number of
 *                                         packets enet_peer_send() accepted
 *   stats host k=v ...                    after `stats`, then one line
 *   stats <peer> k=v ...                  per peer not DISCONNECTED, then
 *   stats end
 *   ok <command>                          after commands that print nothing
 *                                         else (disconnect*, timeout,
 *                                         ping_interval, flush)
 *   bye                                   last line before a clean exit
 *   error <text>                          a bad command or a failure
 *
 *   stats keys: host: peers connected sent_packets sent_bytes recv_packets
 *   recv_bytes; peer: state rtt rtt_var mtu window in_transit packets_sent
 *   packets_lost packet_loss throttle channels data_total_in data_total_out
 *   sent_reliable outgoing acknowledgements ch0_out_seq ch0_in_seq
 *   ch0_used_windows max_attempts max_rto next_resend (all unsigned decimal
 *   integers; the last three: the most-transmitted reliable command still
 *   unacknowledged, its current RTO in ms and the ms until it is resent).
 *
 * ------------------------------------------------------------------------
 * STDIN (one command per line; processed between enet_host_service calls)
 *
 *   send <peer|all> <channel> <flags> <len> <seed>
 *   sendn <count> <peer|all> <channel> <flags> <len> <seed0>
 *        sends packets with seeds seed0 .. seed0+count-1 (wrapping u32),
 *        calling enet_host_flush every 64 packets and once at the end.
 *   sendhex <peer|all> <channel> <flags> <hex>
 *        sends one packet holding exactly the given bytes (hex, even length,
 *        at least one byte), then enet_host_flush; prints `sent <count>`.
 *   disconnect <peer|all> <data>          enet_peer_disconnect
 *   disconnect_now <peer|all> <data>      enet_peer_disconnect_now
 *   disconnect_later <peer|all> <data>    enet_peer_disconnect_later
 *   reset <peer|all>                      enet_peer_reset
 *   timeout <peer|all> <limit> <min> <max>  enet_peer_timeout
 *   ping_interval <peer|all> <ms>         enet_peer_ping_interval
 *   flush                                 enet_host_flush
 *   stats                                 see STDOUT
 *   quit                                  disconnect every peer gracefully,
 *                                         keep servicing ~200 ms (printing
 *                                         events), print `bye`, exit 0
 *   EOF on stdin behaves like quit.
 *
 *   <peer> is an index into host->peers; `all` means every peer in state
 *   CONNECTED. <flags> is a `+`-separated list of reliable, unreliable (0),
 *   unsequenced, unreliable-fragment, or decimal numbers, e.g.
 *   `unsequenced+unreliable-fragment`. <len> may be 0 .. 33554432.
 *
 * ------------------------------------------------------------------------
 * PAYLOAD PATTERN  pattern(seed, len), all arithmetic on wrapping u32:
 *
 *   bytes 0..min(4,len): the seed, little-endian (the 4 low bytes of it)
 *   byte i >= 4:         h = seed ^ (i * 0x9E3779B1)
 *                        h = h * 0x85EBCA6B;  h ^= h >> 13
 *                        h = h * 0xC2B2AE35;  h ^= h >> 16
 *                        byte = h & 0xFF
 *
 *   So the receiver can recover the seed from the first 4 bytes and check
 *   the rest. Packets shorter than 4 bytes report `-` as seed.
 *
 * ------------------------------------------------------------------------
 * ECHO (--echo)
 *
 *   Each received packet is copied and sent back to its sender on the same
 *   channel with flags = received flags & (RELIABLE|UNSEQUENCED|
 *   UNRELIABLE_FRAGMENT), plus UNRELIABLE_FRAGMENT whenever RELIABLE is not
 *   set. ENet marks an incoming packet that arrived as unreliable fragments
 *   with UNRELIABLE_FRAGMENT, but a plain unreliable one has flags 0; adding
 *   the flag keeps a large unreliable packet unreliable on the way back
 *   instead of ENet promoting it to reliable fragments. For packets that fit
 *   in one fragment the flag has no effect on the wire.
 */

#define _POSIX_C_SOURCE 200809L

#include <enet/enet.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PAYLOAD (32u * 1024u * 1024u)
#define MAX_LINE 4096
#define FLUSH_EVERY 64

static ENetHost *host;
static int is_server;
static int opt_echo;
static int opt_print_data;
static int opt_godot_ids;
static uint32_t opt_greet;
#define GREET_SEED 4711u
#define MAX_GREET 1024u
/* --godot-ids: id held by each peer slot (0 = none). */
static enet_uint32 *godot_ids;

/* ---------------------------------------------------------------- output */

static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

/* ------------------------------------------------------------- checksums */

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

/* zlib-compatible CRC-32 (crc32(0, data, len) in zlib terms). */
static uint32_t crc32_bytes(const uint8_t *data, size_t len)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++)
        c = crc_table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* --------------------------------------------------------------- pattern */

static uint8_t pattern_byte(uint32_t seed, size_t index)
{
    if (index < 4)
        return (uint8_t)(seed >> (8 * index));
    uint32_t h = seed ^ ((uint32_t)index * 0x9E3779B1u);
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return (uint8_t)h;
}

static void pattern_fill(uint8_t *buf, uint32_t seed, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = pattern_byte(seed, i);
}

/* Returns 1 and sets *seed if data == pattern(seed, len) for the seed held
 * in the first 4 bytes. */
static int pattern_seed(const uint8_t *data, size_t len, uint32_t *seed)
{
    if (len < 4)
        return 0;
    uint32_t s = (uint32_t)data[0] | ((uint32_t)data[1] << 8) |
                 ((uint32_t)data[2] << 16) | ((uint32_t)data[3] << 24);
    for (size_t i = 4; i < len; i++)
        if (data[i] != pattern_byte(s, i))
            return 0;
    *seed = s;
    return 1;
}

/* ------------------------------------------------------------- parsing */

static int parse_u32(const char *s, uint32_t *v)
{
    if (s == NULL || *s == '\0')
        return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno != 0 || *end != '\0' || x > 0xFFFFFFFFull || s[0] == '-')
        return 0;
    *v = (uint32_t)x;
    return 1;
}

static int parse_flags(const char *s, uint32_t *flags)
{
    char buf[256];
    if (s == NULL || strlen(s) >= sizeof buf)
        return 0;
    strcpy(buf, s);
    uint32_t f = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, "+,|", &save); tok != NULL;
         tok = strtok_r(NULL, "+,|", &save)) {
        uint32_t n;
        if (strcmp(tok, "reliable") == 0)
            f |= ENET_PACKET_FLAG_RELIABLE;
        else if (strcmp(tok, "unreliable") == 0)
            f |= 0;
        else if (strcmp(tok, "unsequenced") == 0)
            f |= ENET_PACKET_FLAG_UNSEQUENCED;
        else if (strcmp(tok, "unreliable-fragment") == 0 ||
                 strcmp(tok, "unreliable_fragment") == 0)
            f |= ENET_PACKET_FLAG_UNRELIABLE_FRAGMENT;
        else if (parse_u32(tok, &n))
            f |= n;
        else
            return 0;
    }
    /* NO_ALLOCATE would make ENet keep a pointer to our buffer: never. */
    *flags = f & ~(uint32_t)ENET_PACKET_FLAG_NO_ALLOCATE;
    return 1;
}

/* <peer|all>: returns 1 with *all set, or a valid peer index. */
static int parse_peer(const char *s, int *all, size_t *index)
{
    uint32_t v;
    if (s != NULL && strcmp(s, "all") == 0) {
        *all = 1;
        *index = 0;
        return 1;
    }
    if (!parse_u32(s, &v) || v >= host->peerCount)
        return 0;
    *all = 0;
    *index = v;
    return 1;
}

/* -------------------------------------------------------------- events */

static size_t peer_index(const ENetPeer *peer)
{
    return (size_t)(peer - host->peers);
}

/* --greet: one reliable pattern packet on channel 0 to a peer that just connected. */
static void greet(ENetPeer *peer)
{
    uint8_t buf[MAX_GREET];
    pattern_fill(buf, GREET_SEED, opt_greet);
    ENetPacket *p = enet_packet_create(buf, opt_greet, ENET_PACKET_FLAG_RELIABLE);
    if (p == NULL || enet_peer_send(peer, 0, p) < 0) {
        if (p != NULL)
            enet_packet_destroy(p);
        out("error greet failed");
        return;
    }
    enet_host_flush(host);
}

static void handle_event(ENetEvent *ev)
{
    switch (ev->type) {
    case ENET_EVENT_TYPE_CONNECT: {
        size_t idx = peer_index(ev->peer);
        if (opt_godot_ids && is_server) {
            int refuse = ev->data < 2;
            for (size_t i = 0; !refuse && i < host->peerCount; i++)
                if (godot_ids[i] == ev->data)
                    refuse = 1;
            if (refuse) {
                godot_ids[idx] = 0;
                enet_peer_reset(ev->peer);
                out("refused %" PRIu32, ev->data);
                return;
            }
            godot_ids[idx] = ev->data;
        }
        out("connect %zu %" PRIu32 " %zu %" PRIu32, idx, ev->data,
            ev->peer->channelCount, ev->peer->mtu);
        if (opt_greet > 0)
            greet(ev->peer);
        break;
    }
    case ENET_EVENT_TYPE_DISCONNECT: {
        size_t idx = peer_index(ev->peer);
        if (godot_ids != NULL)
            godot_ids[idx] = 0;
        out("disconnect %zu %" PRIu32, idx, ev->data);
        break;
    }
    case ENET_EVENT_TYPE_RECEIVE: {
        ENetPacket *p = ev->packet;
        size_t idx = peer_index(ev->peer);
        uint32_t crc = crc32_bytes(p->data, p->dataLength);
        uint32_t seed;
        char seedbuf[16];
        if (pattern_seed(p->data, p->dataLength, &seed))
            snprintf(seedbuf, sizeof seedbuf, "%" PRIu32, seed);
        else
            strcpy(seedbuf, "-");
        if (opt_print_data) {
            size_t n = p->dataLength;
            char *hex = malloc(n * 2 + 2);
            if (hex == NULL) {
                out("error out of memory");
            } else {
                static const char digits[] = "0123456789abcdef";
                for (size_t i = 0; i < n; i++) {
                    hex[2 * i] = digits[p->data[i] >> 4];
                    hex[2 * i + 1] = digits[p->data[i] & 15];
                }
                if (n == 0)
                    strcpy(hex, "-");
                else
                    hex[2 * n] = '\0';
                out("receive %zu %u %zu %" PRIu32 " %08" PRIx32 " %s %s", idx,
                    (unsigned)ev->channelID, p->dataLength, (uint32_t)p->flags,
                    crc, seedbuf, hex);
                free(hex);
            }
        } else {
            out("receive %zu %u %zu %" PRIu32 " %08" PRIx32 " %s", idx,
                (unsigned)ev->channelID, p->dataLength, (uint32_t)p->flags, crc,
                seedbuf);
        }
        if (opt_echo) {
            uint32_t f = p->flags & (ENET_PACKET_FLAG_RELIABLE |
                                     ENET_PACKET_FLAG_UNSEQUENCED |
                                     ENET_PACKET_FLAG_UNRELIABLE_FRAGMENT);
            if (!(f & ENET_PACKET_FLAG_RELIABLE))
                f |= ENET_PACKET_FLAG_UNRELIABLE_FRAGMENT;
            ENetPacket *e = enet_packet_create(p->data, p->dataLength, f);
            if (e == NULL) {
                out("error echo: enet_packet_create failed");
            } else if (enet_peer_send(ev->peer, ev->channelID, e) < 0) {
                enet_packet_destroy(e);
                out("error echo: enet_peer_send failed (peer %zu channel %u)",
                    idx, (unsigned)ev->channelID);
            }
        }
        enet_packet_destroy(p);
        break;
    }
    case ENET_EVENT_TYPE_NONE:
        break;
    }
}

/* Drains all currently available events without blocking. */
static void service_now(void)
{
    ENetEvent ev;
    int r;
    while ((r = enet_host_service(host, &ev, 0)) > 0)
        handle_event(&ev);
    if (r < 0)
        out("error enet_host_service failed");
}

/* ------------------------------------------------------------- commands */

/* Sends one pattern packet; returns 1 on success. */
static int send_one(ENetPeer *peer, uint8_t channel, uint32_t flags,
                    uint8_t *buf, size_t len, uint32_t seed)
{
    pattern_fill(buf, seed, len);
    ENetPacket *p = enet_packet_create(buf, len, flags);
    if (p == NULL) {
        out("error enet_packet_create failed (len %zu)", len);
        return 0;
    }
    if (enet_peer_send(peer, channel, p) < 0) {
        enet_packet_destroy(p);
        out("error enet_peer_send failed (peer %zu channel %u len %zu)",
            peer_index(peer), (unsigned)channel, len);
        return 0;
    }
    return 1;
}

static void cmd_send(uint32_t count, const char *peer_s, const char *chan_s,
                     const char *flags_s, const char *len_s, const char *seed_s)
{
    int all;
    size_t index;
    uint32_t channel, flags, len, seed;
    if (!parse_peer(peer_s, &all, &index)) {
        out("error bad peer '%s'", peer_s ? peer_s : "");
        return;
    }
    if (!parse_u32(chan_s, &channel) || channel > 254) {
        out("error bad channel '%s'", chan_s ? chan_s : "");
        return;
    }
    if (!parse_flags(flags_s, &flags)) {
        out("error bad flags '%s'", flags_s ? flags_s : "");
        return;
    }
    if (!parse_u32(len_s, &len) || len > MAX_PAYLOAD) {
        out("error bad length '%s'", len_s ? len_s : "");
        return;
    }
    if (!parse_u32(seed_s, &seed)) {
        out("error bad seed '%s'", seed_s ? seed_s : "");
        return;
    }
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL) {
        out("error out of memory");
        return;
    }
    uint32_t sent = 0;
    for (uint32_t k = 0; k < count; k++) {
        uint32_t s = seed + k;
        if (all) {
            for (size_t i = 0; i < host->peerCount; i++)
                if (host->peers[i].state == ENET_PEER_STATE_CONNECTED)
                    sent += send_one(&host->peers[i], (uint8_t)channel, flags,
                                     buf, len, s);
        } else {
            sent += send_one(&host->peers[index], (uint8_t)channel, flags, buf,
                             len, s);
        }
        if ((k + 1) % FLUSH_EVERY == 0) {
            enet_host_flush(host);
            /* keep acks and events moving during long bursts */
            service_now();
        }
    }
    enet_host_flush(host);
    free(buf);
    out("sent %" PRIu32, sent);
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* sendhex: one packet with the given bytes on one peer or all connected ones. */
static void cmd_sendhex(const char *peer_s, const char *chan_s,
                        const char *flags_s, const char *hex)
{
    int all;
    size_t index;
    uint32_t channel, flags;
    size_t n = strlen(hex);
    if (!parse_peer(peer_s, &all, &index)) {
        out("error bad peer '%s'", peer_s);
        return;
    }
    if (!parse_u32(chan_s, &channel) || channel > 254) {
        out("error bad channel '%s'", chan_s);
        return;
    }
    if (!parse_flags(flags_s, &flags)) {
        out("error bad flags '%s'", flags_s);
        return;
    }
    if (n == 0 || n % 2 != 0) {
        out("error bad hex (length %zu)", n);
        return;
    }
    uint8_t *buf = malloc(n / 2);
    if (buf == NULL) {
        out("error out of memory");
        return;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(buf);
            out("error bad hex digit at %zu", 2 * i);
            return;
        }
        buf[i] = (uint8_t)(hi << 4 | lo);
    }
    uint32_t sent = 0;
    for (size_t i = all ? 0 : index; i < (all ? host->peerCount : index + 1); i++) {
        ENetPeer *peer = &host->peers[i];
        if (all && peer->state != ENET_PEER_STATE_CONNECTED)
            continue;
        ENetPacket *p = enet_packet_create(buf, n / 2, flags);
        if (p == NULL) {
            out("error enet_packet_create failed");
            continue;
        }
        if (enet_peer_send(peer, (uint8_t)channel, p) < 0) {
            enet_packet_destroy(p);
            out("error enet_peer_send failed (peer %zu)", i);
            continue;
        }
        sent++;
    }
    free(buf);
    enet_host_flush(host);
    out("sent %" PRIu32, sent);
}

typedef void (*peer_fn)(ENetPeer *, uint32_t);

static void peer_disconnect(ENetPeer *p, uint32_t d) { enet_peer_disconnect(p, d); }
static void peer_disconnect_now(ENetPeer *p, uint32_t d) { enet_peer_disconnect_now(p, d); }
static void peer_disconnect_later(ENetPeer *p, uint32_t d) { enet_peer_disconnect_later(p, d); }
static void peer_ping_interval(ENetPeer *p, uint32_t d) { enet_peer_ping_interval(p, d); }

static void peer_reset(ENetPeer *p, uint32_t d)
{
    (void)d;
    if (godot_ids != NULL)
        godot_ids[peer_index(p)] = 0;
    enet_peer_reset(p);
}

static void for_peers(const char *cmd, const char *peer_s, const char *arg_s,
                      peer_fn fn, int needs_arg)
{
    int all;
    size_t index;
    uint32_t arg = 0;
    if (!parse_peer(peer_s, &all, &index)) {
        out("error bad peer '%s'", peer_s ? peer_s : "");
        return;
    }
    if (needs_arg && !parse_u32(arg_s, &arg)) {
        out("error bad argument '%s'", arg_s ? arg_s : "");
        return;
    }
    if (all) {
        for (size_t i = 0; i < host->peerCount; i++)
            if (host->peers[i].state == ENET_PEER_STATE_CONNECTED)
                fn(&host->peers[i], arg);
    } else {
        fn(&host->peers[index], arg);
    }
    out("ok %s", cmd);
}

static void cmd_timeout(char **argv, int argc)
{
    int all;
    size_t index;
    uint32_t limit, min, max;
    if (argc != 5 || !parse_peer(argv[1], &all, &index) ||
        !parse_u32(argv[2], &limit) || !parse_u32(argv[3], &min) ||
        !parse_u32(argv[4], &max)) {
        out("error usage: timeout <peer|all> <limit> <min> <max>");
        return;
    }
    for (size_t i = 0; i < host->peerCount; i++) {
        if (all ? host->peers[i].state == ENET_PEER_STATE_CONNECTED : i == index)
            enet_peer_timeout(&host->peers[i], limit, min, max);
    }
    out("ok timeout");
}

static void cmd_stats(void)
{
    out("stats host peers=%zu connected=%zu sent_packets=%" PRIu32
        " sent_bytes=%" PRIu32 " recv_packets=%" PRIu32 " recv_bytes=%" PRIu32,
        host->peerCount, host->connectedPeers, host->totalSentPackets,
        host->totalSentData, host->totalReceivedPackets, host->totalReceivedData);
    for (size_t i = 0; i < host->peerCount; i++) {
        ENetPeer *p = &host->peers[i];
        if (p->state == ENET_PEER_STATE_DISCONNECTED)
            continue;
        /* The most-transmitted reliable command still waiting for its
         * acknowledgement (in flight or queued again after a timeout): its
         * transmissions, its current retransmission timeout (doubled per
         * timeout, never capped) and, while in flight, the ms until it times
         * out again. Shows a sender that has backed off far. */
        unsigned max_attempts = 0, max_rto = 0, next_resend = 0;
        ENetList *queues[2] = {&p->sentReliableCommands, &p->outgoingCommands};
        for (int q = 0; q < 2; q++) {
            for (ENetListIterator it = enet_list_begin(queues[q]);
                 it != enet_list_end(queues[q]); it = enet_list_next(it)) {
                const ENetOutgoingCommand *oc = (const ENetOutgoingCommand *)it;
                if (!(oc->command.header.command & ENET_PROTOCOL_COMMAND_FLAG_ACKNOWLEDGE)
                    || oc->sendAttempts <= max_attempts)
                    continue;
                max_attempts = oc->sendAttempts;
                max_rto = oc->roundTripTimeout;
                int32_t due = (int32_t)(oc->sentTime + oc->roundTripTimeout
                                        - enet_time_get());
                /* Queued again (q == 1): it leaves at the next service. */
                next_resend = q == 0 && due > 0 ? (unsigned)due : 0;
            }
        }
        /* Channel 0's reliable state (zeros before channels exist). */
        ENetChannel none = {0};
        const ENetChannel *ch0 = p->channelCount > 0 ? &p->channels[0] : &none;
        out("stats %zu state=%u rtt=%" PRIu32 " rtt_var=%" PRIu32
            " mtu=%" PRIu32 " window=%" PRIu32 " in_transit=%" PRIu32
            " packets_sent=%" PRIu32 " packets_lost=%" PRIu32
            " packet_loss=%" PRIu32 " throttle=%" PRIu32 " channels=%zu"
            " data_total_in=%" PRIu32 " data_total_out=%" PRIu32
            " sent_reliable=%zu outgoing=%zu acknowledgements=%zu"
            " ch0_out_seq=%u ch0_in_seq=%u ch0_used_windows=%u"
            " max_attempts=%u max_rto=%u next_resend=%u",
            i, (unsigned)p->state, p->roundTripTime, p->roundTripTimeVariance,
            p->mtu, p->windowSize, p->reliableDataInTransit, p->packetsSent,
            p->packetsLost, p->packetLoss, p->packetThrottle, p->channelCount,
            p->incomingDataTotal, p->outgoingDataTotal,
            enet_list_size(&p->sentReliableCommands),
            enet_list_size(&p->outgoingCommands),
            enet_list_size(&p->acknowledgements),
            (unsigned)ch0->outgoingReliableSequenceNumber,
            (unsigned)ch0->incomingReliableSequenceNumber,
            (unsigned)ch0->usedReliableWindows, max_attempts, max_rto,
            next_resend);
    }
    out("stats end");
}

/* Returns 1 when the program should quit. */
static int handle_line(char *line)
{
    char *argv[16];
    int argc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t\r\n", &save); tok != NULL;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        if (argc == 16) {
            out("error too many arguments");
            return 0;
        }
        argv[argc++] = tok;
    }
    if (argc == 0)
        return 0;
    const char *c = argv[0];
    if (strcmp(c, "send") == 0) {
        if (argc != 6)
            out("error usage: send <peer|all> <channel> <flags> <len> <seed>");
        else
            cmd_send(1, argv[1], argv[2], argv[3], argv[4], argv[5]);
    } else if (strcmp(c, "sendn") == 0) {
        uint32_t count;
        if (argc != 7 || !parse_u32(argv[1], &count))
            out("error usage: sendn <count> <peer|all> <channel> <flags> <len> <seed0>");
        else
            cmd_send(count, argv[2], argv[3], argv[4], argv[5], argv[6]);
    } else if (strcmp(c, "sendhex") == 0) {
        if (argc != 5)
            out("error usage: sendhex <peer|all> <channel> <flags> <hex>");
        else
            cmd_sendhex(argv[1], argv[2], argv[3], argv[4]);
    } else if (strcmp(c, "disconnect") == 0 && argc == 3) {
        for_peers(c, argv[1], argv[2], peer_disconnect, 1);
    } else if (strcmp(c, "disconnect_now") == 0 && argc == 3) {
        for_peers(c, argv[1], argv[2], peer_disconnect_now, 1);
    } else if (strcmp(c, "disconnect_later") == 0 && argc == 3) {
        for_peers(c, argv[1], argv[2], peer_disconnect_later, 1);
    } else if (strcmp(c, "reset") == 0 && argc == 2) {
        for_peers(c, argv[1], NULL, peer_reset, 0);
    } else if (strcmp(c, "ping_interval") == 0 && argc == 3) {
        for_peers(c, argv[1], argv[2], peer_ping_interval, 1);
    } else if (strcmp(c, "timeout") == 0) {
        cmd_timeout(argv, argc);
    } else if (strcmp(c, "flush") == 0 && argc == 1) {
        enet_host_flush(host);
        out("ok flush");
    } else if (strcmp(c, "stats") == 0 && argc == 1) {
        cmd_stats();
    } else if (strcmp(c, "quit") == 0 && argc == 1) {
        return 1;
    } else {
        out("error unknown command or wrong argument count: %s (%d args)", c,
            argc - 1);
    }
    return 0;
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
    fprintf(stderr,
            "usage: cpeer server --port P [--bind ADDR] [--peers N] [--channels N]\n"
            "                    [--godot-ids] [common]\n"
            "       cpeer client --host H --port P [--bind ADDR] [--channels N]\n"
            "                    [--data D] [common]\n"
            "common: --checksum --range-coder --echo --print-data --in-bw N\n"
            "        --out-bw N --mtu N\n");
}

static void fail(const char *msg)
{
    out("error %s", msg);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *bind_addr = "127.0.0.1";
    const char *host_name = NULL;
    uint32_t port = 0, peers = 32, channels = 0, data = 0, in_bw = 0, out_bw = 0,
             mtu = 0;
    int have_port = 0, have_channels = 0, checksum = 0, range_coder = 0;

    crc_init();
    if (argc < 2) {
        usage();
        fail("missing mode (server|client)");
    }
    if (strcmp(argv[1], "server") == 0)
        is_server = 1;
    else if (strcmp(argv[1], "client") != 0) {
        usage();
        fail("mode must be server or client");
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint32_t *num = NULL;
        if (strcmp(a, "--checksum") == 0) checksum = 1;
        else if (strcmp(a, "--range-coder") == 0) range_coder = 1;
        else if (strcmp(a, "--echo") == 0) opt_echo = 1;
        else if (strcmp(a, "--print-data") == 0) opt_print_data = 1;
        else if (strcmp(a, "--godot-ids") == 0) opt_godot_ids = 1;
        else if (strcmp(a, "--bind") == 0 && v) { bind_addr = v; i++; }
        else if (strcmp(a, "--host") == 0 && v) { host_name = v; i++; }
        else if (strcmp(a, "--port") == 0) { num = &port; have_port = 1; }
        else if (strcmp(a, "--peers") == 0) num = &peers;
        else if (strcmp(a, "--channels") == 0) { num = &channels; have_channels = 1; }
        else if (strcmp(a, "--data") == 0) num = &data;
        else if (strcmp(a, "--in-bw") == 0) num = &in_bw;
        else if (strcmp(a, "--out-bw") == 0) num = &out_bw;
        else if (strcmp(a, "--mtu") == 0) num = &mtu;
        else if (strcmp(a, "--greet") == 0) num = &opt_greet;
        else {
            usage();
            out("error unknown option '%s'", a);
            return 2;
        }
        if (num != NULL) {
            if (!parse_u32(v, num)) {
                out("error bad value for %s", a);
                return 2;
            }
            i++;
        }
    }
    if (!have_port || port > 65535)
        fail("--port P (0..65535) is required");
    if (opt_greet > MAX_GREET)
        fail("--greet N must be 0..=1024");
    if (!is_server && host_name == NULL)
        fail("client needs --host H");
    if (!is_server && port == 0)
        fail("client needs a non-zero --port");
    if (opt_godot_ids && !is_server)
        fail("--godot-ids is for servers only");
    if (is_server && (peers < 1 || peers > ENET_PROTOCOL_MAXIMUM_PEER_ID))
        fail("--peers must be 1..4095");
    if (channels > ENET_PROTOCOL_MAXIMUM_CHANNEL_COUNT)
        fail("--channels must be 0..255");
    if (!is_server && !have_channels)
        channels = 2;
    if (!is_server && channels == 0)
        channels = ENET_PROTOCOL_MAXIMUM_CHANNEL_COUNT;

    if (enet_initialize() != 0)
        fail("enet_initialize failed");
    atexit(enet_deinitialize);

    ENetAddress local;
    if (enet_address_set_host_ip(&local, bind_addr) != 0)
        fail("bad --bind address");
    local.port = (enet_uint16)(is_server ? port : 0);
    /* On a client the channel count requested also serves as its limit. */
    host = enet_host_create(&local, is_server ? peers : 1, channels, in_bw,
                            out_bw);
    if (host == NULL)
        fail("enet_host_create failed (address in use?)");
    if (checksum)
        host->checksum = enet_crc32;
    if (range_coder && enet_host_compress_with_range_coder(host) != 0)
        fail("enet_host_compress_with_range_coder failed");
    if (mtu != 0) {
        if (mtu < ENET_PROTOCOL_MINIMUM_MTU || mtu > ENET_PROTOCOL_MAXIMUM_MTU)
            fail("--mtu out of range");
        host->mtu = mtu;
    }
    if (opt_godot_ids) {
        godot_ids = calloc(host->peerCount, sizeof *godot_ids);
        if (godot_ids == NULL)
            fail("out of memory");
    }

    ENetAddress bound;
    if (enet_socket_get_address(host->socket, &bound) != 0)
        fail("enet_socket_get_address failed");

    if (is_server) {
        out("listening %u", (unsigned)bound.port);
    } else {
        ENetAddress remote;
        if (enet_address_set_host(&remote, host_name) != 0)
            fail("cannot resolve --host");
        remote.port = (enet_uint16)port;
        if (enet_host_connect(host, &remote, channels, data) == NULL)
            fail("enet_host_connect failed");
        out("connecting %u", (unsigned)bound.port);
    }

    int flags = fcntl(STDIN_FILENO, F_GETFL);
    if (flags >= 0)
        fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK);

    static char inbuf[MAX_LINE];
    size_t inlen = 0;
    int stdin_open = 1, quit = 0, discarding = 0;

    while (!quit) {
        service_now();

        struct pollfd fds[2];
        fds[0].fd = host->socket;
        fds[0].events = POLLIN;
        fds[1].fd = STDIN_FILENO;
        fds[1].events = POLLIN;
        int n = poll(fds, stdin_open ? 2 : 1, 5);
        if (n < 0 && errno != EINTR)
            fail("poll failed");
        if (!stdin_open || n <= 0 || !(fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;

        for (;;) {
            ssize_t r = read(STDIN_FILENO, inbuf + inlen, sizeof inbuf - 1 - inlen);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    stdin_open = 0, quit = 1;
                break;
            }
            if (r == 0) {
                stdin_open = 0;
                quit = 1;
                break;
            }
            inlen += (size_t)r;
            char *start = inbuf;
            char *nl;
            while (!quit && (nl = memchr(start, '\n', inlen - (size_t)(start - inbuf))) != NULL) {
                *nl = '\0';
                if (discarding)
                    discarding = 0;
                else if (handle_line(start))
                    quit = 1;
                start = nl + 1;
            }
            inlen -= (size_t)(start - inbuf);
            memmove(inbuf, start, inlen);
            if (inlen == sizeof inbuf - 1) {
                /* report once per over-long line, drop it up to its newline */
                if (!discarding)
                    out("error command line too long");
                discarding = 1;
                inlen = 0;
            }
            if (quit)
                break;
        }
    }

    /* Graceful shutdown: disconnect everyone, service for ~200 ms. */
    for (size_t i = 0; i < host->peerCount; i++) {
        ENetPeer *p = &host->peers[i];
        if (p->state != ENET_PEER_STATE_DISCONNECTED && p->state != ENET_PEER_STATE_ZOMBIE)
            enet_peer_disconnect(p, 0);
    }
    for (int k = 0; k < 40; k++) {
        service_now();
        if (host->connectedPeers == 0) {
            int busy = 0;
            for (size_t i = 0; i < host->peerCount; i++)
                if (host->peers[i].state != ENET_PEER_STATE_DISCONNECTED)
                    busy = 1;
            if (!busy)
                break;
        }
        poll(NULL, 0, 5);
    }
    enet_host_flush(host);
    enet_host_destroy(host);
    free(godot_ids);
    out("bye");
    return 0;
}
