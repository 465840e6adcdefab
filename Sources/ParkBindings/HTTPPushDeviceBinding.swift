import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ParkCore
import ParkOCPP
import ParkProfiles
import ParkWire
import Synchronization

/// The devices whose model pushes events over HTTP (its profile's `http_push:` section), as
/// vendors' plate cameras and face terminals report a read: each such event is POSTed as JSON
/// to the platform's push URL, and the answer may carry the decision — commands for the pushing
/// device or another one (`{"commands": [{"device": "barrier-G1-01", "command": "open"}]}`: the
/// camera's relay lifting its lane's barrier), which go to the devices like any command.
///
/// The body is the device's usual envelope (what it would have published on MQTT) with its
/// `zone`, so a platform can place it. Everything else about the device — its status, its other
/// events, the commands addressed to it — stays on MQTT; ``pushes(_:event:)`` tells the MQTT
/// binding which events to leave out. Requests go through one URLSession with a bounded number in
/// flight (never a thread per device); one that finds no room is dropped and counted. One that
/// fails — no answer, a 5xx, 408 or 429 — is sent again as the model's `retries` and
/// `retry_interval` say (the wait doubling each time), holding its place in flight while it
/// waits, so retries stay within the same bound; a 4xx that is the platform refusing the push
/// is not retried. The figures say how many were retried and how many failed in the end.
public final class HTTPPushDeviceBinding: EmissionObserver, CommandTakingBinding, Sendable {
    /// Where to push, and how patiently.
    public struct Configuration: Sendable {
        public var url: URL
        /// Longest a push may take before it counts as failed.
        public var timeout: Duration
        /// More pushes than this waiting for their answer: the next is dropped and counted.
        public var maximumInFlight: Int

        public init(url: URL, timeout: Duration = .seconds(5), maximumInFlight: Int = 256) {
            self.url = url
            self.timeout = timeout
            self.maximumInFlight = maximumInFlight
        }
    }

    /// What the binding did, for the run's summary and the tests.
    public struct Figures: Sendable, Hashable {
        public var pushed = 0
        /// Answered 2xx.
        public var answered = 0
        /// Not answered, or answered with a status outside 2xx, after every retry the model allows.
        public var failed = 0
        /// Pushes sent again after a failure (each retry counts once).
        public var retried = 0
        /// Found too many pushes in flight.
        public var dropped = 0
        /// Commands the answers carried, and those a device refused or that named no device.
        public var commands = 0
        public var commandsRefused = 0
    }

    private let configuration: Configuration
    private let devices: [String: (device: BoundDevice, settings: ModelHTTPPushSettings)]
    private let session: URLSession
    private let state = Mutex(Figures())
    private let inFlight = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let commandNumber = Atomic<Int>(0)
    private let handler = Mutex<DeviceCommandHandler?>(nil)
    private let logger: Logger

    /// Serves the devices of `devices` whose model has an `http_push:` section; the others are
    /// not its business.
    public init(devices: [BoundDevice], catalog: ModelCatalog, configuration: Configuration,
                logger: Logger = Logger(label: "parkbench.http-push")) {
        var served: [String: (BoundDevice, ModelHTTPPushSettings)] = [:]
        for device in devices {
            if let settings = catalog.model(named: device.model)?.httpPush { served[device.id] = (device, settings) }
        }
        self.devices = served
        self.configuration = configuration
        self.logger = logger
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.httpMaximumConnectionsPerHost = 8
        sessionConfiguration.timeoutIntervalForRequest = Double(configuration.timeout.components.seconds)
            + Double(configuration.timeout.components.attoseconds) / 1e18
        session = URLSession(configuration: sessionConfiguration)
    }

    /// The devices it pushes for.
    public var deviceIDs: [String] { devices.keys.sorted() }

    /// Whether `event` of device `deviceID` goes by HTTP (and so not on MQTT).
    public func pushes(_ deviceID: String, event: String) -> Bool {
        devices[deviceID]?.settings.pushes(event) ?? false
    }

    public var figures: Figures { state.withLock { $0 } }

    public func setCommandHandler(_ handler: @escaping DeviceCommandHandler) {
        self.handler.withLock { $0 = handler }
    }

    /// Stops taking pushes; those in flight are cancelled and none is retried.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
        session.invalidateAndCancel()
    }

    // MARK: EmissionObserver

    public func deviceEmitted(_ record: LedgerRecord) {
        guard record.channel == .event, let (device, settings) = devices[record.deviceID], settings.pushes(record.name) else { return }
        guard inFlight.add(1, ordering: .relaxed).newValue <= configuration.maximumInFlight else {
            inFlight.subtract(1, ordering: .relaxed)
            state.withLock { $0.dropped += 1 }
            return
        }
        let emission = WireEmission(record, device: device)
        let body = DeviceEnvelope.emission(
            device: device.id, kind: device.kind, sequence: emission.sequence, messageID: emission.messageID,
            wallNanoseconds: emission.wallNanoseconds, channel: emission.channel, name: emission.name, values: emission.values,
            extra: device.zone.map { [("zone", JSONText.quoted($0))] } ?? [])
        var request = URLRequest(url: configuration.url)
        request.httpMethod = "POST"
        request.httpBody = Data(body)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(device.id, forHTTPHeaderField: "X-Device-Id")
        state.withLock { $0.pushed += 1 }
        send(request, deviceID: device.id, settings: settings, attempt: 0)
    }

    /// Sends `request` (attempt 0, then each retry); its place in flight is given back only when
    /// it is answered or the retries run out.
    private func send(_ request: URLRequest, deviceID: String, settings: ModelHTTPPushSettings, attempt: Int) {
        var attemptRequest = request
        if attempt > 0 { attemptRequest.setValue(String(attempt), forHTTPHeaderField: "X-Retry") }
        session.dataTask(with: attemptRequest) { [self] data, response, error in
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            guard error == nil, (200..<300).contains(status) else {
                // No answer, the server's trouble or "slow down": worth another try. Any other
                // 4xx is the platform refusing this push, and it would refuse it again.
                let worthRetrying = error != nil || status >= 500 || status == 408 || status == 429
                if worthRetrying, attempt < settings.retries, !stopped.load(ordering: .relaxed) {
                    let delay = settings.delay(beforeRetry: attempt + 1)
                    logger.debug("push failed, retrying", metadata: ["device": "\(deviceID)", "status": "\(status)", "retry": "\(attempt + 1)"])
                    Task { [self] in
                        try? await Task.sleep(for: .nanoseconds(Int64(clamping: delay.nanoseconds)))
                        // Stopped while it waited: the session is gone, and so is the push.
                        guard !stopped.load(ordering: .relaxed) else {
                            inFlight.subtract(1, ordering: .relaxed)
                            state.withLock { $0.failed += 1 }
                            return
                        }
                        state.withLock { $0.retried += 1 }
                        send(request, deviceID: deviceID, settings: settings, attempt: attempt + 1)
                    }
                    return
                }
                inFlight.subtract(1, ordering: .relaxed)
                state.withLock { $0.failed += 1 }
                logger.debug("push failed", metadata: ["device": "\(deviceID)", "status": "\(status)", "error": "\(error.map { "\($0)" } ?? "")"])
                return
            }
            inFlight.subtract(1, ordering: .relaxed)
            state.withLock { $0.answered += 1 }
            if let data, !data.isEmpty { decide(Array(data), from: deviceID) }
        }.resume()
    }

    /// The commands an answer carries, each to its device (the pushing one unless it names another).
    /// The answer is read with the bounded reader the OCPP ends use: it comes from a peer.
    private func decide(_ answer: [UInt8], from deviceID: String) {
        guard let object = try? JSONReader.parse(bytes: answer), let commands = object["commands"]?.array, !commands.isEmpty else { return }
        guard let handler = handler.withLock({ $0 }) else { return }
        for entry in commands {
            guard let name = entry["command"]?.string, !name.isEmpty else {
                state.withLock { $0.commandsRefused += 1 }
                continue
            }
            let target = entry["device"]?.string ?? deviceID
            var arguments: [String: PointValue] = [:]
            for (key, value) in entry["arguments"]?.object ?? [:] {
                switch value {
                case .string(let text): arguments[key] = .string(text)
                case .bool(let flag): arguments[key] = .bool(flag)
                case .int(let number): arguments[key] = .int(number)
                case .double(let number): arguments[key] = .double(number)
                case .null, .array, .object: continue
                }
            }
            let id = "push-\(commandNumber.add(1, ordering: .relaxed).newValue)"
            state.withLock { $0.commands += 1 }
            let command = DeviceCommand(name, arguments: arguments, id: id)
            Task { [self] in
                switch await handler(target, command) {
                case .failure: state.withLock { $0.commandsRefused += 1 }
                case .success(let result): if case .rejected = result.outcome { state.withLock { $0.commandsRefused += 1 } }
                }
            }
        }
    }
}
