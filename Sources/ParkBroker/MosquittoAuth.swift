import Foundation

/// mosquitto's own access control for a park, as the reference platform sets it up: a password
/// file with one user per device (user name = device id, password = that device's secret, 004
/// L754) plus a platform account, and an ACL that lets each device publish and subscribe only
/// under its own topics while the platform reads everything and writes commands.
///
/// Passwords are hashed by `mosquitto_passwd -U` (mosquitto's own PBKDF2-SHA512 format), so
/// the broker checks them with its own code; the plaintext file is deleted at once.
public struct MosquittoAuth: Sendable {
    /// User name → password.
    public var users: [String: String]
    /// Accounts that may read every topic and write commands (the platform; a harness watching it).
    public var platformUsers: [String]
    /// Topic patterns a device may use, with `%u` for its user name (its id): its own topics in
    /// ParkBench's layout, and a robot's VDA 5050 topics (`uagv/v2/<manufacturer>/<serial>/…`,
    /// the serial number being its id).
    public var devicePatterns: [String]

    public init(users: [String: String], platformUsers: [String], devicePatterns: [String] = ["park/+/+/%u/#", "uagv/+/+/%u/#"]) {
        self.users = users
        self.platformUsers = platformUsers
        self.devicePatterns = devicePatterns
    }

    /// The ACL file's text.
    public var acl: String {
        "# Written by ParkBench: every device only under its own topics; the platform everywhere.\n"
            + platformUsers.map { "user \($0)\ntopic readwrite #\n" }.joined(separator: "\n")
            + "\n" + devicePatterns.map { "pattern readwrite \($0)\n" }.joined()
    }

    /// Writes `passwd` and `acl` into `directory` and returns the mosquitto.conf lines that use
    /// them. - Throws: ``BrokerError`` when mosquitto_passwd is missing or fails (never naming a
    /// password).
    public func write(into directory: TemporaryDirectory) throws -> [String] {
        let passwordFile = directory.path("passwd"), aclFile = directory.path("acl")
        for (user, password) in users {
            guard !user.contains(":"), !user.contains("\n"), !password.contains("\n") else {
                throw BrokerError("user '\(user)' cannot go in a mosquitto password file (':' or a line break)")
            }
        }
        let plain = users.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: "\n") + "\n"
        try plain.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        chmod(passwordFile, 0o600)
        let tool = try executablePath("mosquitto_passwd")
        let hasher = try ChildProcess(tool, ["-U", passwordFile], output: directory.path("mosquitto_passwd.log"))
        guard hasher.waitForExit(timeout: .seconds(60)), hasher.status == 0 else {
            try? FileManager.default.removeItem(atPath: passwordFile)
            throw BrokerError("mosquitto_passwd -U failed (status \(hasher.status ?? -1))")
        }
        try acl.write(toFile: aclFile, atomically: true, encoding: .utf8)
        return ["allow_anonymous false", "password_file \(passwordFile)", "acl_file \(aclFile)"]
    }

    /// A random secret: 24 bytes from the system's generator, as hex.
    public static func randomSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0 ..< 24).map { _ in String(format: "%02x", UInt8.random(in: 0 ... 255, using: &generator)) }.joined()
    }
}
