import CMosquitto

/// The libmosquitto that this build links against.
///
/// ParkMQTT drives libmosquitto clients from its own event loops; this is its first seam and
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
        mosquitto_lib_init()
        guard let client = mosquitto_new("parkbench-probe", true, nil) else { return false }
        mosquitto_destroy(client)
        return true
    }
}
