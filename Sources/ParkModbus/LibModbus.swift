import CModbus

/// The libmodbus that this build links against.
///
/// ParkModbus wraps libmodbus for Modbus TCP/RTU endpoints; this is its first seam and lets
/// `parkbench version` report the library that will actually serve registers.
public enum LibModbus {
    /// Run-time version of the linked library, e.g. `3.1.6`.
    public static var version: String {
        "\(libmodbus_version_major).\(libmodbus_version_minor).\(libmodbus_version_micro)"
    }

    /// Creates and frees a real libmodbus TCP context, proving the library is usable, not only linked.
    public static func canCreateContext() -> Bool {
        guard let context = modbus_new_tcp("127.0.0.1", 502) else { return false }
        modbus_free(context)
        return true
    }
}
