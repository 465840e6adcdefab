import Foundation
import ParkBindings
import ParkCore
import ParkWire

/// How a run's devices log in to the broker, as the command line gives it. Secrets come from a
/// file or an environment variable, never from the park or the command line itself.
public struct MQTTLoginOptions: Sendable {
    /// The run's scheme for models whose profile does not set one; nil: `password` when secrets
    /// are given, else `none`.
    public var scheme: MQTTAuthScheme?
    /// Product key for `aliyun-hmac` (a model's profile may set its own).
    public var productKey: String?
    /// File of `device-id=secret` lines, one per device.
    public var secretsFile: String?
    /// Environment variable holding one password shared by every device.
    public var passwordEnvironment: String?

    public init(scheme: MQTTAuthScheme? = nil, productKey: String? = nil, secretsFile: String? = nil, passwordEnvironment: String? = nil) {
        self.scheme = scheme
        self.productKey = productKey
        self.secretsFile = secretsFile
        self.passwordEnvironment = passwordEnvironment
    }

    var hasSecrets: Bool { secretsFile != nil || passwordEnvironment != nil }
}

extension MQTTDeviceBinding {
    /// The MQTT binding for `devices`: models whose profile has an `mqtt:` section follow it
    /// (topics, field names, login), the run's options set the rest.
    /// - Throws: ``BindingError`` when a model logs in with a scheme but no secrets were given,
    ///   the secrets file lacks a device, or the topic template is broken.
    public static func forPark(
        devices: [BoundDevice], catalog: ModelCatalog, broker: BrokerAddress, topics: DeviceTopicTemplate,
        logins: MQTTLoginOptions, bindAddress: String? = nil, connectWindow: Int = 64,
        sentElsewhere: (@Sendable (_ deviceID: String, _ event: String) -> Bool)? = nil
    ) throws(BindingError) -> MQTTDeviceBinding {
        var conventions: [String: MQTTModelConventions] = [:]
        for model in Set(devices.map(\.model)).sorted() {
            guard let profile = catalog.model(named: model), let settings = profile.mqtt else { continue }
            let modelConventions = try MQTTModelConventions(settings, profile: profile.file)
            if let scheme = modelConventions.auth, scheme != .none, !logins.hasSecrets {
                throw BindingError("model \(model) logs in with \(scheme.rawValue) (\(profile.file)); "
                                   + "give the devices their secrets with --secrets-file <file> or --password-env <name>")
            }
            conventions[model] = modelConventions
        }
        let runScheme = logins.scheme ?? (logins.hasSecrets ? .password : .none)
        var secrets: DeviceSecrets?
        if let secretsFile = logins.secretsFile {
            secrets = try DeviceSecrets.load(file: secretsFile)
            let missing = secrets?.missing(among: devices.map(\.id)) ?? []
            if !missing.isEmpty {
                throw BindingError("\(secretsFile) has no secret for \(missing.count) device(s): "
                    + missing.prefix(10).joined(separator: ", ") + (missing.count > 10 ? ", …" : ""))
            }
        }
        let shared = logins.passwordEnvironment.flatMap { ProcessInfo.processInfo.environment[$0] }
        // One timestamp for the run: the signature is computed once per device, like a device that
        // signs at boot.
        let signedAt = SystemClock.wallNow().nanosecondsSinceEpoch / 1_000_000
        let runProductKey = logins.productKey ?? ""
        let modelConventions = conventions
        let knownSecrets = secrets
        let login = { @Sendable (device: BoundDevice) in
            let model = modelConventions[device.model]
            return (model?.auth ?? runScheme).login(
                for: device, secret: knownSecrets?.secret(for: device.id) ?? shared,
                productKey: model?.productKey ?? runProductKey, timestampMilliseconds: signedAt)
        }
        var configuration = MQTTDeviceBinding.Configuration(
            host: broker.host, port: broker.port, topics: topics, credentials: { login($0).credentials })
        configuration.bindAddress = bindAddress
        configuration.connectWindow = connectWindow
        configuration.clientID = { login($0).clientID }
        configuration.conventions = conventions
        if let sentElsewhere { configuration.sentElsewhere = sentElsewhere }
        return try MQTTDeviceBinding(devices: devices, configuration: configuration)
    }
}
