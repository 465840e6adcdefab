/*
 * parkbench_plugin.h — the C ABI between ParkBench and a device-kind plugin.
 *
 * A plugin is a shared library exporting one function, `parkbench_plugin_v1`, of type
 * `pb_plugin_entry_v1`. The host calls it once after dlopen, passing the host's services;
 * the plugin fills in a `pb_plugin_v1` describing its kind and its callbacks.
 *
 * Nothing but C data crosses this boundary: pointers, integers, and UTF-8 JSON text. Swift
 * types must not cross it, because SwiftPM links Swift modules statically into both the host
 * and the plugin, so each side has its own copy of every type's metadata (a protocol
 * conformance or a registry shared "by type" silently splits in two).
 *
 * Threading: the host calls a given device from one thread at a time, never concurrently;
 * different devices may be called from different threads at once.
 *
 * JSON shapes (all UTF-8, not NUL-terminated; lengths are byte counts):
 *   kind descriptor   {"name":..., "summary":..., "sources":[...], "points":[...], "events":[...],
 *                      "commands":[...], "stimuli":[...], "parameters":[...]}
 *                     (see ParkProfiles.KindDescriptor for each element's keys)
 *   device config     {"id":"...", "parameters":{"name":"text",...}, "zone":"..."?, "floor":n?}
 *   emission          {"channel":"telemetry|event|status|local", "name":"...",
 *                      "readings":[{"point":"...","value":<json scalar>,"truth":<json scalar>?}]}
 *   stimulus/command  {"name":"...", "arguments":{"name":<json scalar>,...}}
 *   command result    {"accepted":true} or {"accepted":false,"reason":"..."},
 *                     optionally with "readings":[...]
 */
#ifndef PARKBENCH_PLUGIN_H
#define PARKBENCH_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI version this header describes. A plugin writes it into pb_plugin_v1.abi_version. */
#define PB_PLUGIN_ABI_VERSION 1u

/** The name of the entry point a v1 plugin exports. */
#define PB_PLUGIN_ENTRY_V1 "parkbench_plugin_v1"

/** Opaque: the call in progress. Valid only until the callback it was passed to returns. */
typedef struct pb_call pb_call;

/** Log levels for pb_host_v1.log. */
enum { PB_LOG_DEBUG = 0, PB_LOG_INFO = 1, PB_LOG_WARNING = 2, PB_LOG_ERROR = 3 };

/** Services the host offers. Every function takes the pb_call the host passed to the callback. */
typedef struct pb_host_v1 {
    uint32_t abi_version;  /* PB_PLUGIN_ABI_VERSION of the host */
    uint32_t struct_size;  /* sizeof(pb_host_v1) as the host compiled it */
    /** Records an emission (JSON, see above) in the ledger and sends it through the binding. */
    void (*emit)(pb_call *call, const char *json, size_t length);
    /** Asks for plugin.timer(device, call, tag) after delay_ns of device time. */
    void (*schedule)(pb_call *call, uint64_t delay_ns, uint32_t tag);
    /** The device's time for this call, in nanoseconds on the run's monotonic clock. */
    uint64_t (*now_ns)(pb_call *call);
    /** The next value of this device's seeded random stream (one seed gives one run). */
    uint64_t (*random_u64)(pb_call *call);
    /** Answers a command (JSON result, see above); only valid inside plugin.command. */
    void (*reply)(pb_call *call, const char *json, size_t length);
    /** Rejects a create, stimulus or command with a message shown to the user. */
    void (*fail)(pb_call *call, const char *message, size_t length);
    /** Writes to the host's log. */
    void (*log)(pb_call *call, int32_t level, const char *message, size_t length);
} pb_host_v1;

/** What a plugin provides. */
typedef struct pb_plugin_v1 {
    uint32_t abi_version;  /* must be PB_PLUGIN_ABI_VERSION as the plugin was compiled */
    uint32_t struct_size;  /* sizeof(pb_plugin_v1) as the plugin compiled it */
    /** The kind descriptor JSON; must stay valid while the library is loaded. */
    const char *kind_json;
    size_t kind_json_length;
    /** Creates one device from its config JSON; returns NULL (after host.fail) on error. */
    void *(*create)(pb_call *call, const char *config_json, size_t length);
    /** Frees a device. */
    void (*destroy)(void *device);
    /** The device is powered on. */
    void (*start)(void *device, pb_call *call);
    /** A timer asked for with host.schedule is due. */
    void (*timer)(void *device, pb_call *call, uint32_t tag);
    /** The harness applies a stimulus (JSON). Call host.fail to reject it. */
    void (*stimulus)(void *device, pb_call *call, const char *json, size_t length);
    /** The platform sends a command (JSON). Answer with host.reply or host.fail. */
    void (*command)(void *device, pb_call *call, const char *json, size_t length);
} pb_plugin_v1;

/**
 * The entry point. Fills *plugin and returns 0; any other value means the plugin refused to
 * load (after calling host->log with a reason, if it can). The host pointer stays valid for
 * as long as the library is loaded.
 */
typedef int32_t (*pb_plugin_entry_v1)(const pb_host_v1 *host, pb_plugin_v1 *plugin);

#ifdef __cplusplus
}
#endif

#endif /* PARKBENCH_PLUGIN_H */
