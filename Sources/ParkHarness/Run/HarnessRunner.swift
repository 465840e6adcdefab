import Foundation
import ParkBindings
import ParkRuntime
import ParkCore
import ParkFaults
import ParkGB28181
import ParkMedia
import ParkMQTT
import ParkReport
import ParkWire

/// Runs one suite against one system under test: starts the observers and the park's virtual
/// devices, runs each check in order, and turns what they measured into a ``RunReport``.
///
/// Checks run one after another, so one check's stimuli never land inside another's window.
public struct HarnessRunner: Sendable {
    /// Everything a run needs, already loaded and validated.
    public struct Configuration: Sendable {
        public var suite: Suite
        public var profile: PlatformProfile
        public var park: ParkFile
        public var parkFile: String
        public var plan: [PlannedDevice]
        public var kinds: DeviceKindRegistry
        public var seed: UInt64
        public var parkbenchVersion: String
        /// Fault switches the system under test was started with, for the report.
        public var faults: [String]
        /// Only these checks (by id); empty: all.
        public var only: [String]
        /// Time the platform gets to register the park's devices before the first check.
        public var settle: DeviceDuration
        /// How long to wait for the broker and the devices to connect.
        public var connectTimeout: DeviceDuration
        /// The run's id, chosen up front so its folder can exist before the run (for a capture).
        public var runID: String
        /// Each device's secret, when the broker authenticates devices (user name = device id).
        public var deviceSecrets: DeviceSecrets?
        /// The harness's own broker login, instead of the profile's environment variables.
        public var harnessCredentials: MQTTCredentials?
        /// Model profiles, for the register maps of meters served behind a gateway (profile `meters:`).
        public var catalog: ModelCatalog?
        /// The map the park's robots report their positions on (VDA 5050 `mapId`); nil: each
        /// robot's zone.
        public var robotMapId: String?
        /// Where to write the meter table (``GatewayMeters/table``) once the meters answer; nil: nowhere.
        public var meterTableFile: String?
        /// At least this many samples per latency check (`--samples`).
        public var minimumSamples: Int?
        /// The H.264 clip (Annex B) the park's cameras stream when the platform INVITEs them; nil:
        /// they refuse INVITEs (488), and the live-video checks fail.
        public var videoClip: String?
        /// How to kill (and restore) the platform for `fault: platform-kill` checks; nil: the
        /// profile's `failover:` commands, if it has them.
        public var platformFaults: PlatformProcessFaults?
        /// How to stop and start the broker for `fault: broker-restart` checks; nil: the profile's
        /// `failover:` commands, if it has them.
        public var brokerFaults: BrokerProcessFaults?
        /// Called once the park's devices are up, with where each meter answers (empty without
        /// the profile's `meters:`), before the platform gets its settle time: where a demo starts
        /// the gateway that polls them.
        public var devicesUp: (@Sendable (_ meters: GatewayMeterAddresses) async throws -> Void)?
        /// The local address the devices' MQTT clients connect from (one per shard of a load run
        /// on one machine, as several machines would have); nil: the system's choice.
        public var bindAddress: String?
        /// Where a load check posts its live figures (the command's progress line and `/metrics` read it).
        public var liveFigures = LoadFiguresBoard()

        public init(
            suite: Suite, profile: PlatformProfile, park: ParkFile, parkFile: String, plan: [PlannedDevice],
            kinds: DeviceKindRegistry, seed: UInt64, parkbenchVersion: String, faults: [String] = [], only: [String] = [],
            settle: DeviceDuration = .seconds(1), connectTimeout: DeviceDuration = .seconds(10)
        ) {
            self.suite = suite
            self.profile = profile
            self.park = park
            self.parkFile = parkFile
            self.plan = plan
            self.kinds = kinds
            self.seed = seed
            self.parkbenchVersion = parkbenchVersion
            self.faults = faults
            self.only = only
            self.settle = settle
            self.connectTimeout = connectTimeout
            self.runID = HarnessRunner.runID(Date())
        }
    }

    /// Progress as the run goes: one line per step, and each check's result as it lands.
    public enum Progress: Sendable {
        case step(String)
        case checkStarted(index: Int, of: Int, CheckCommon)
        case checkFinished(CheckResult)
    }

    public let configuration: Configuration
    public let progress: @Sendable (Progress) -> Void

    public init(configuration: Configuration, progress: @escaping @Sendable (Progress) -> Void = { _ in }) {
        self.configuration = configuration
        self.progress = progress
    }

    /// Runs the suite. - Throws: ``HarnessError`` when the system under test cannot be reached
    /// or a credential it needs is missing; check failures are verdicts, not errors.
    public func run() async throws(HarnessError) -> RunReport {
        let started = Date()
        let profile = configuration.profile
        var credentials = configuration.harnessCredentials
        if credentials == nil { credentials = try harnessCredentials() }
        let observations = ObservationLog()

        // Observe first, so nothing the platform says about the devices coming up is missed.
        let observer = MQTTObserver(streams: profile.mqtt, log: observations)
        defer { observer.stop() }
        if !profile.mqtt.isEmpty {
            // Across a broker restart the harness keeps its session too, so what the platform says
            // before the observer has reconnected is kept for it rather than lost to the count.
            do { try observer.start(broker: profile.broker, credentials: credentials, keepSession: restartsBroker) } catch {
                throw .unreachable("cannot watch \(profile.broker.url): \(error)")
            }
            progress(.step("watching \(profile.mqtt.map(\.topic).joined(separator: ", ")) on \(profile.broker.url)"))
            guard await waitUntil(configuration.connectTimeout, { observer.isSubscribed || observer.connectionFailure != nil }),
                  observer.isSubscribed else {
                throw .unreachable("no subscription at \(profile.broker.url) within \(configuration.connectTimeout): \(observer.connectionFailure ?? "no answer")")
            }
        }

        var webhook: WebhookObserver?
        if let spec = profile.webhook {
            webhook = try WebhookObserver(spec, log: observations)
            progress(.step("listening for the platform's webhook calls on \(webhook!.url)"))
        }
        defer { webhook?.stop() }
        var pollers: [RESTPoller] = []
        for poll in profile.rest { pollers.append(try RESTPoller(poll, log: observations)) }
        for poller in pollers { await poller.start() }
        defer { pollers.forEach { $0.stop() } }
        if !pollers.isEmpty { progress(.step("polling \(profile.rest.map(\.url).joined(separator: ", "))")) }

        let allDevices = configuration.park.boundDevices
        let meterReads = MeterReadLog()
        let meters = try GatewayMeters.make(profile.meters, devices: allDevices, catalog: configuration.catalog, reads: meterReads)
        var bindings = meters?.bindings ?? ParkSession.Bindings()
        let video = try videoBinding(for: allDevices.filter { !(meters?.serves($0.id) ?? false) }, bindings: &bindings)
        let chargers = try chargerBinding(for: allDevices.filter { !(meters?.serves($0.id) ?? false) && !(video?.serves($0.id) ?? false) }, bindings: &bindings)
        var devices = allDevices.filter { !(meters?.serves($0.id) ?? false) && !(video?.serves($0.id) ?? false) && !(chargers?.serves($0.id) ?? false) }
        // Devices that push some events over HTTP stay on MQTT for the rest.
        if let push = profile.push, let catalog = configuration.catalog {
            let binding = HTTPPushDeviceBinding(devices: devices, catalog: catalog, configuration: .init(url: push.url))
            if !binding.deviceIDs.isEmpty {
                bindings.httpPush = binding
                progress(.step("\(binding.deviceIDs.count) devices push their reads over HTTP to \(push.url.absoluteString)"))
            }
        }
        let proxy = try faultProxy()
        defer { proxy?.stop() }
        do {
            var bindingConfiguration = MQTTDeviceBinding.Configuration(host: profile.broker.host, port: profile.broker.port)
            if let proxy {
                bindingConfiguration.host = proxy.configuration.listenHost
                bindingConfiguration.port = proxy.port
            }
            if proxy != nil || restartsBroker {
                // The devices come back as soon as the link (or the broker) does, so a recovery
                // time measures the platform rather than how long a device's backoff happened to be.
                bindingConfiguration.reconnect = MQTTReconnectPolicy(base: .milliseconds(250), cap: .seconds(1))
            }
            if let secrets = configuration.deviceSecrets {
                bindingConfiguration.credentials = { device in MQTTAuthScheme.password.credentials(for: device, secret: secrets.secret(for: device.id)) }
            }
            if let template = profile.deviceTopics { bindingConfiguration.topics = try DeviceTopicTemplate(template) }
            bindingConfiguration.bindAddress = configuration.bindAddress
            if let push = bindings.httpPush { bindingConfiguration.sentElsewhere = { push.pushes($0, event: $1) } }
            // Robots whose model speaks VDA 5050: on the same broker (through the same proxy), with
            // the standard's topics and messages instead of the envelope.
            if let catalog = configuration.catalog {
                let robots = VDA5050RobotBinding(devices: devices, catalog: catalog, configuration: .init(
                    host: bindingConfiguration.host, port: bindingConfiguration.port, credentials: bindingConfiguration.credentials,
                    mapId: configuration.robotMapId))
                if !robots.deviceIDs.isEmpty {
                    bindings.robots = robots
                    devices = devices.filter { !robots.serves($0.id) }
                    progress(.step("\(robots.deviceIDs.count) robots on VDA 5050"))
                }
            }
            bindings.mqtt = try MQTTDeviceBinding(devices: devices, configuration: bindingConfiguration)
        } catch {
            throw .configuration("cannot set up the park's devices: \(error)")
        }
        let session: ParkSession
        do { session = try await ParkSession(plan: configuration.plan, bindings: bindings, indexGroundTruth: true) } catch {
            throw .configuration("cannot set up the park's devices: \(error)")
        }
        let results: [CheckResult]
        do {
            results = try await runChecks(
                in: session, devices: devices, allDevices: allDevices, meters: meters, meterReads: meterReads,
                observations: observations, proxy: proxy)
        } catch {
            await session.stop()
            throw error
        }
        await session.stop()

        var notes: [String] = []
        let problems = observations.problems
        if problems.total > 0 {
            notes.append("\(problems.total) northbound messages could not be read, e.g. " + problems.first.prefix(3).map(\.description).joined(separator: "; "))
        }
        let verdict = results.map(\.verdict).max() ?? .skipped
        let finished = Date()
        return report(verdict: verdict, checks: results, notes: notes, started: started, finished: finished)
    }

    /// What the failover checks this run makes break.
    private var failoverFaults: [FailoverCheck.Fault] {
        configuration.suite.checks.filter { configuration.only.isEmpty || configuration.only.contains($0.common.id) }
            .compactMap { ($0 as? FailoverCheck)?.fault }
    }

    /// Whether a check of the run stops and starts the broker.
    private var restartsBroker: Bool { failoverFaults.contains(.brokerRestart) }

    /// The fault proxy the MQTT devices reach the broker through, when a check the run makes
    /// breaks their links; nil otherwise (they connect straight, with nothing in between).
    private func faultProxy() throws(HarnessError) -> FaultProxy? {
        let breaksLinks = failoverFaults.contains { if case .link = $0 { true } else { false } }
        guard breaksLinks else { return nil }
        let broker = configuration.profile.broker
        do {
            let proxy = try FaultProxy(.init(upstreamHost: broker.host, upstreamPort: broker.port, namer: { bytes in
                switch MQTTConnectPeek.clientID(in: bytes) {
                case .needMore: .needMore
                case .clientID(let id): .named(id)
                case .notConnect: .anonymous
                }
            }))
            progress(.step("devices reach \(broker.url) through the fault proxy on \(proxy.configuration.listenHost):\(proxy.port)"))
            return proxy
        } catch {
            throw .configuration("cannot start the fault proxy in front of \(broker.url): \(error)")
        }
    }

    /// Waits until every camera and NVR is registered, and teaches the observation log their
    /// GB/T 28181 ids (devices' and channels'), which the platform reports them by.
    private func waitForRegistrations(
        _ video: GB28181DeviceBinding, addresses: [GB28181DeviceBinding.Address], platform: VideoPlatform, observations: ObservationLog
    ) async throws(HarnessError) {
        var aliases: [String: String] = [:]
        for address in addresses {
            aliases[address.id] = address.device
            for channel in address.channels { aliases[channel] = address.device }
        }
        observations.addAliases(aliases)
        let count = video.deviceIDs.count
        guard await waitUntil(configuration.connectTimeout, { video.counters.registered == count }) else {
            let counters = video.counters
            throw .unreachable(
                "only \(counters.registered) of \(count) cameras registered to the SIP server at \(platform.host):\(platform.port) within \(configuration.connectTimeout)"
                    + " (\(counters.registration.forbidden) refused, \(counters.registration.timeouts) unanswered)")
        }
        progress(.step("\(count) cameras and NVRs registered over GB/T 28181 to \(platform.host):\(platform.port)"))
    }

    /// The park's EV chargers on OCPP 1.6J when the profile has an `ocpp:` central system, each
    /// with its device secret as its basic-auth password when the run has secrets.
    private func chargerBinding(for devices: [BoundDevice], bindings: inout ParkSession.Bindings) throws(HarnessError) -> OCPPDeviceBinding? {
        guard let platform = configuration.profile.ocpp else { return nil }
        guard let catalog = configuration.catalog else { throw .configuration("the park's chargers need the model catalog to go on OCPP") }
        let secrets = configuration.deviceSecrets
        let binding: OCPPDeviceBinding
        do {
            binding = try OCPPDeviceBinding(
                devices: devices, catalog: catalog,
                configuration: .init(host: platform.host, port: platform.port, pathPrefix: platform.pathPrefix, password: { secrets?.secret(for: $0.id) },
                                     bindHost: configuration.bindAddress, callTimeout: 10))
        } catch {
            throw .configuration("cannot put the park's chargers on OCPP: \(error)")
        }
        guard !binding.deviceIDs.isEmpty else { return nil }
        bindings.ocpp = binding
        return binding
    }

    /// Waits until every charger has its WebSocket open, then (as long again at most) until the
    /// central system accepted their boots. A central system that rejects boots is not a reason
    /// to stop the run: the checks then fail, naming what the chargers could not do.
    private func waitForChargers(_ chargers: OCPPDeviceBinding, platform: OCPPPlatform) async throws(HarnessError) {
        let count = chargers.deviceIDs.count
        guard await waitUntil(configuration.connectTimeout, { chargers.figures.connected == count }) else {
            let figures = chargers.figures
            throw .unreachable("only \(figures.connected) of \(count) chargers connected to the central system at \(platform.url) within \(configuration.connectTimeout)"
                               + " (\(figures.connectFailures) connects failed; a wrong password is refused 401)")
        }
        // Until each boot is answered: accepted, or Pending/Rejected (the checks then show what that costs).
        _ = await waitUntil(configuration.connectTimeout) { let figures = chargers.figures; return figures.booted + figures.bootsRefused == count }
        let figures = chargers.figures
        if figures.booted == count {
            progress(.step("\(count) chargers connected over OCPP 1.6J to \(platform.url) and booted"))
        } else {
            progress(.step("\(count) chargers connected over OCPP 1.6J to \(platform.url), but only \(figures.booted) boots were accepted"
                           + (figures.bootsRefused > 0 ? " (\(figures.bootsRefused) answered Pending or Rejected)" : "")))
        }
    }

    /// The park's cameras and NVRs on GB/T 28181 when the profile has a `video:` platform: they
    /// register to its SIP server with the run's device secrets as passwords.
    private func videoBinding(for devices: [BoundDevice], bindings: inout ParkSession.Bindings) throws(HarnessError) -> GB28181DeviceBinding? {
        guard let platform = configuration.profile.video else { return nil }
        guard let address = SIPAddress(hostAndPort: "\(platform.host):\(platform.port)") else {
            throw .configuration("video.sip \(platform.host):\(platform.port) is not an IPv4 address and port")
        }
        guard let catalog = configuration.catalog else { throw .configuration("the park's cameras need the model catalog to go on GB/T 28181") }
        let registry = bindings.registry ?? PolledStateRegistry()
        bindings.registry = registry
        let secrets = configuration.deviceSecrets
        let binding: GB28181DeviceBinding
        do {
            // One sender for every camera's video (one thread, the clip packetized once); the binding stops it.
            let media = try configuration.videoClip.map { path in
                let sender = try RTPSender(clip: try PacketizedClip(contentsOf: path), configuration: .init(localAddress: "127.0.0.1"))
                try sender.start()
                return GB28181MediaHooks(sender: sender)
            }
            binding = try GB28181DeviceBinding(
                devices: devices, catalog: catalog, kinds: configuration.kinds, registry: registry,
                configuration: .init(platform: address, platformID: platform.id, domain: platform.domain, password: { secrets?.secret(for: $0.id) },
                                     media: media))
        } catch {
            throw .configuration("cannot put the park's cameras on GB/T 28181: \(error)")
        }
        guard !binding.deviceIDs.isEmpty else { return nil }
        guard let secrets else {
            throw .configuration("the park's cameras need SIP passwords: give the run's device secrets (--secrets-file), one per device")
        }
        let missing = secrets.missing(among: binding.deviceIDs)
        guard missing.isEmpty else {
            throw .configuration("\(secrets.source) has no secret for the cameras \(missing.prefix(5).joined(separator: ", "))")
        }
        bindings.gb28181 = binding
        return binding
    }

    /// The run's report around its checks: which suite, platform, park and seed, and when.
    private func report(verdict: RunReport.Verdict, checks: [CheckResult], notes: [String], started: Date, finished: Date) -> RunReport {
        let profile = configuration.profile
        return RunReport(
            runID: configuration.runID, startedAt: Self.timestamp(started), finishedAt: Self.timestamp(finished), verdict: verdict,
            suite: .init(name: configuration.suite.name, title: configuration.suite.title, file: configuration.suite.file),
            platform: .init(name: profile.name, file: profile.file, endpoint: profile.broker.url),
            park: .init(name: configuration.park.name, file: configuration.parkFile, devices: configuration.park.devices.count),
            seed: configuration.seed, parkbenchVersion: configuration.parkbenchVersion, faults: configuration.faults,
            checks: checks, notes: notes, startedAtNanoseconds: RunReport.nanoseconds(started),
            finishedAtNanoseconds: RunReport.nanoseconds(finished))
    }

    /// The report of a run that never got to its checks (the broker unreachable, the devices
    /// refused): every check the run would have made is there with verdict `error` and `why`, so
    /// a CI job that reads the run folder or the JUnit file sees what happened, not nothing.
    public func reportOfRunThatCouldNotStart(_ why: String, started: Date) -> RunReport {
        let finished = Date()
        let checks = configuration.suite.checks.filter { configuration.only.isEmpty || configuration.only.contains($0.common.id) }
        let results = checks.map { check in
            CheckResult(
                id: check.common.id, title: check.common.title, type: check.common.type, source: check.common.source,
                severity: check.common.severity.rawValue, verdict: .error, summary: "not run: \(why)", expectations: [], metrics: [:],
                latency: nil, findings: [], startedAt: Self.timestamp(started), startedAtNanoseconds: RunReport.nanoseconds(started),
                durationMilliseconds: 0)
        }
        return report(verdict: .error, checks: results, notes: ["the run could not start: \(why)"], started: started, finished: finished)
    }

    /// Connects the park's devices, starts them, opens the meters' endpoints and runs the
    /// suite's checks one after another.
    private func runChecks(
        in session: ParkSession, devices: [BoundDevice], allDevices: [BoundDevice], meters: GatewayMeters?, meterReads: MeterReadLog,
        observations: ObservationLog, proxy: FaultProxy?
    ) async throws(HarnessError) -> [CheckResult] {
        let profile = configuration.profile
        // The checks time the platform against the devices' own records, kept as they happen.
        guard let truth = session.truth else { throw .configuration("the park session keeps no ground-truth index") }
        guard let binding = session.bindings.mqtt else { throw .configuration("the park's devices have no MQTT binding") }
        do { try session.connectMQTT() } catch { throw .unreachable("\(error)") }
        guard await waitUntil(configuration.connectTimeout, {
            let statistics = binding.statistics
            let robots = session.bindings.robots.map { $0.figures.connected >= $0.deviceIDs.count } ?? true
            return statistics.pool.connectedClients == devices.count && statistics.subscribedDevices == devices.count && robots
        }) else {
            let statistics = binding.statistics
            var message = "only \(statistics.pool.connectedClients) of \(devices.count) devices connected (\(statistics.subscribedDevices) subscribed to their commands) to \(profile.broker.url) within \(configuration.connectTimeout)"
            if !statistics.refusedDevices.isEmpty {
                message += "; refused: \(statistics.refusedDevices.prefix(5).joined(separator: ", "))"
            }
            throw .unreachable(message)
        }
        await session.start()
        var addresses = GatewayMeterAddresses()
        if meters != nil || session.bindings.gb28181 != nil || session.bindings.ocpp != nil {
            do { addresses = try session.openEndpoints() } catch { throw .configuration("cannot serve the park's meters and cameras: \(error)") }
        }
        if let video = session.bindings.gb28181, let platform = profile.video {
            try await waitForRegistrations(video, addresses: addresses.gb28181, platform: platform, observations: observations)
        }
        if let chargers = session.bindings.ocpp, let platform = profile.ocpp {
            try await waitForChargers(chargers, platform: platform)
        }
        if meters != nil, let endpoints = profile.meters {
            for line in GatewayMeters.describe(addresses, endpoints) { progress(.step(line)) }
            if let file = configuration.meterTableFile {
                // Written before the gateway is told to start, so a gateway under test can read it.
                let table = GatewayMeters.table(addresses, endpoints, devices: allDevices, catalog: configuration.catalog)
                do { try table.write(toFile: file, atomically: true, encoding: .utf8) } catch {
                    throw .configuration("cannot write the meter table \(file): \(error.localizedDescription)")
                }
                progress(.step("meter table for the gateway: \(file)"))
            }
        }
        if let devicesUp = configuration.devicesUp {
            do { try await devicesUp(addresses) } catch { throw .unreachable("\(error)") }
        }
        let onVideo = addresses.gb28181.count
        let onOCPP = session.bindings.ocpp?.deviceIDs.count ?? 0
        let answering = allDevices.count - devices.count - onVideo - onOCPP
        progress(.step("park \(configuration.park.name): \(devices.count) devices connected"
                       + (meters == nil ? "" : ", \(answering) meters answering") + (onVideo == 0 ? "" : ", \(onVideo) cameras and NVRs registered") + (onOCPP == 0 ? "" : ", \(onOCPP) chargers on OCPP")
                       + "; letting the platform see them for \(configuration.settle)"))
        try? await Task.sleep(nanoseconds: configuration.settle.nanoseconds)

        let context = HarnessContext(
            devices: configuration.park.devices, kinds: configuration.kinds, profile: profile, truth: truth,
            observations: observations,
            driver: LiveHarnessDriver(engine: session.engine, binding: binding, meters: meters, video: session.bindings.gb28181, chargers: session.bindings.ocpp, proxy: proxy,
                                      platformFaults: configuration.platformFaults ?? .commands(profile.failover),
                                      brokerFaults: configuration.brokerFaults ?? .commands(profile.failover)),
            secrets: configuration.deviceSecrets, meterReads: meterReads, minimumSamples: configuration.minimumSamples,
            videoIDs: Dictionary(addresses.gb28181.map { ($0.device, $0) }, uniquingKeysWith: { first, _ in first }),
            liveFigures: configuration.liveFigures)
        return await runChecks(in: context)
    }

    /// Runs the suite's checks (those ``Configuration/only`` picks) one after another in
    /// `context` — the live park, or a ``VirtualPark`` — and judges each.
    package func runChecks(in context: HarnessContext) async -> [CheckResult] {
        let checks = configuration.suite.checks.filter { configuration.only.isEmpty || configuration.only.contains($0.common.id) }
        var results: [CheckResult] = []
        for (index, check) in checks.enumerated() {
            progress(.checkStarted(index: index + 1, of: checks.count, check.common))
            let checkStarted = Date()
            let measurement = await check.run(in: context)
            let result = Self.verdict(check.common, measurement, started: checkStarted)
            results.append(result)
            progress(.checkFinished(result))
        }
        return results
    }

    /// Measurements and expectations → the check's verdict and a summary a person reads first.
    package static func verdict(_ common: CheckCommon, _ measurement: CheckMeasurement, started: Date) -> CheckResult {
        var measurement = measurement
        let sampleNotes = percentileSampleNotes(common, measurement)
        measurement.findings += sampleNotes.warnings
        var expectations: [ExpectationResult] = []
        var unitMismatches: [String] = []
        for expectation in common.expectations {
            var measured: Double?
            if let metric = measurement.metrics[expectation.metric] {
                measured = expectation.comparable(metric)
                // Comparing a count with milliseconds would give a verdict on nothing: say which units disagree.
                if measured == nil {
                    unitMismatches.append(
                        "'\(expectation.expression)' expects \(expectation.metric) in \(expectation.unit.rawValue), "
                            + "but it was measured in \(metric.unit.rawValue)")
                }
            }
            expectations.append(ExpectationResult(
                expression: expectation.expression, metric: expectation.metric, measured: measured, threshold: expectation.threshold,
                comparison: expectation.comparison.rawValue, unit: expectation.unit.rawValue, passed: expectation.holds(measured)))
        }
        let verdict: RunReport.Verdict
        let summary: String
        if let error = measurement.error {
            verdict = .error
            summary = "could not run: \(error)"
        } else if !unitMismatches.isEmpty {
            verdict = .error
            summary = "cannot judge: " + unitMismatches.joined(separator: "; ")
        } else if expectations.contains(where: { !$0.passed }) {
            verdict = .fail
            summary = expectations.filter { !$0.passed }.map { result in
                "expected \(result.metric) \(result.comparison) \(format(result.threshold, result.unit)), "
                    + (result.measured.map { "measured \(format($0, result.unit))" } ?? "measured nothing")
                    + (sampleNotes.counts[result.metric] ?? "")
            }.joined(separator: "; ")
        } else {
            verdict = .pass
            summary = expectations.map {
                "\($0.metric) \(format($0.measured ?? 0, $0.unit)) \($0.comparison) \(format($0.threshold, $0.unit))"
                    + (sampleNotes.counts[$0.metric] ?? "")
            }.joined(separator: "; ")
        }
        return CheckResult(
            id: common.id, title: common.title, type: common.type, source: common.source, severity: common.severity.rawValue,
            verdict: verdict, summary: summary, expectations: expectations, metrics: measurement.metrics,
            latency: measurement.latency.flatMap { $0.samples.isEmpty ? nil : $0 }, findings: measurement.findings,
            startedAt: timestamp(started), startedAtNanoseconds: RunReport.nanoseconds(started),
            durationMilliseconds: Date().timeIntervalSince(started) * 1000, timeline: measurement.timeline, load: measurement.load)
    }

    /// For each expectation on a percentile (`latency.p99`): how many samples it rests on, for
    /// the summary (` over 4 samples`), and a warning when that is fewer than the percentile
    /// needs to differ from the maximum (p99: 100, p95: 20, p50: 2).
    static func percentileSampleNotes(_ common: CheckCommon, _ measurement: CheckMeasurement)
        -> (counts: [String: String], warnings: [String])
    {
        guard let samples = measurement.metrics["samples"].map({ Int($0.value) }) else { return ([:], []) }
        var counts: [String: String] = [:], warnings: [String] = []
        for expectation in common.expectations {
            // Only latency percentiles: their samples are what `samples` counts.
            guard expectation.metric.hasPrefix("latency."), let suffix = expectation.metric.split(separator: ".").last, suffix.hasPrefix("p"),
                  let digits = Double(suffix.dropFirst()), digits > 0 else { continue }
            // p99 → 0.99, p999 → 0.999, p50 → 0.5
            let quantile = digits / pow(10, Double(suffix.count - 1))
            guard quantile > 0, quantile < 1 else { continue }
            counts[expectation.metric] = " over \(samples) sample\(samples == 1 ? "" : "s")"
            let needed = Int((1 / (1 - quantile)).rounded(.up))
            if samples < needed {
                warnings.append("\(expectation.metric) is judged on \(samples) sample\(samples == 1 ? "" : "s"): below \(needed) it is "
                                + "the maximum, not a percentile; repeat the check (repeat:, or --samples \(needed))")
            }
        }
        return (counts, warnings)
    }

    /// `unit` as an ``ExpectationResult`` spells it (`ms`, `%`, `count`).
    static func format(_ value: Double, _ unit: String) -> String {
        format(value, Expectation.Unit(rawValue: unit)?.metricUnit ?? .number)
    }

    static func format(_ value: Double, _ unit: MetricUnit) -> String {
        switch unit {
        case .milliseconds: String(format: "%.1f ms", value)
        // A word-swapped float is off by 10^38 %: say so in a form a person can read.
        case .percent: abs(value) >= 1e6 ? String(format: "%.3g%%", value) : String(format: "%.2f%%", value)
        case .kilowatts: String(format: "%.4g kW", value)
        case .count, .number: value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.4g", value)
        }
    }

    private func harnessCredentials() throws(HarnessError) -> MQTTCredentials? {
        let broker = configuration.profile.broker
        guard let userVariable = broker.usernameEnvironment else { return nil }
        guard let user = ProcessInfo.processInfo.environment[userVariable], !user.isEmpty else {
            throw .configuration("\(configuration.profile.file): broker.username_env names \(userVariable), which is not set")
        }
        var password: String?
        if let passwordVariable = broker.passwordEnvironment {
            guard let value = ProcessInfo.processInfo.environment[passwordVariable] else {
                throw .configuration("\(configuration.profile.file): broker.password_env names \(passwordVariable), which is not set")
            }
            password = value
        }
        return MQTTCredentials(username: user, password: password)
    }

    private func waitUntil(_ timeout: DeviceDuration, _ condition: () -> Bool) async -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + timeout.nanoseconds
        while !condition() {
            if DispatchTime.now().uptimeNanoseconds >= deadline { return false }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return true
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// `20261125T023000Z-1a2b3c`: sorts by time, unique across runs started the same second.
    public static func runID(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date) + "-" + String(format: "%06x", UInt32.random(in: 0 ... 0xFFFFFF))
    }
}

/// Why a run could not produce verdicts.
public enum HarnessError: Error, Sendable, CustomStringConvertible {
    /// The system under test (broker, platform) could not be reached: exit code 3.
    case unreachable(String)
    /// Something in the files or the environment is wrong: exit code 2.
    case configuration(String)

    public var description: String {
        switch self {
        case .unreachable(let message), .configuration(let message): message
        }
    }
}
