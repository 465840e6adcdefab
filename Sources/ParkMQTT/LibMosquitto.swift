import CMosquitto

/// The libmosquitto that this build links against.
///
/// ParkMQTT drives libmosquitto clients from its own event loops (``MQTTClientPool``); this also
/// lets `parkbench version` report the library that will carry device traffic.
public enum LibMosquitto {
    /// Run-time version of the linked library, e.g. `2.0.11`.
    public static var version: String {
        var major: Int32 = 0, minor: Int32 = 0, revision: Int32 = 0
        mosquitto_lib_version(&major, &minor, &revision)
        return "\(major).\(minor).\(revision)"
    }

    /// Creates and destroys a real client handle, proving the library is usable, not only linked.
    public static func canCreateClient() -> Bool {
        initializeOnce()
        guard let client = mosquitto_new("parkbench-probe", true, nil) else { return false }
        mosquitto_destroy(client)
        return true
    }

    /// `mosquitto_lib_init` once per process (it sets up OpenSSL); a lazy static is initialised
    /// exactly once even when several I/O threads create their first clients at the same moment.
    /// `mosquitto_lib_cleanup` is never called: other pools may still be running.
    static func initializeOnce() { _ = initialized }

    private static let initialized: Bool = mosquitto_lib_init() == MOSQ_ERR_SUCCESS.rawValue
}
