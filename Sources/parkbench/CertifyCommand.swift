import ArgumentParser
import Foundation
import ParkCore
import ParkCertify
import ParkHarness
import ParkMQTT
import ParkReport

/// `parkbench certify`: checks a real meter (Modbus or DL/T 645-2007) against its model profile.
struct CertifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certify",
        abstract: "Certify a Modbus device, a DL/T 645-2007 meter, a GB/T 28181 camera or NVR, an OCPP 1.6J charge point or a VDA 5050 robot against its model profile.",
        discussion: """
            ParkBench plays the master. Over Modbus (tcp:// or rtu://) it reads every register the \
            profile declares and checks that each is readable and physically plausible (a wrong \
            byte order, type or scale lands far outside), that energy and volume do not decrease \
            between two reads --interval apart, that active power agrees with Σ voltage × current \
            × power factor (±5 %), that an address past the map, an unknown function and a \
            126-register read get exceptions 02, 01 and 03, and how fast it answers (--samples \
            reads; p99 above --response-limit fails). Every finding names the register: point, \
            table, address and format.

            Over DL/T 645-2007 (dlt645://host:port, a serial-to-Ethernet converter in front of \
            the meter) it asks the meter's number with read address (13) unless --meter gives it, \
            reads every standard data item a gateway polls (forward/reverse energy, phase \
            voltages and currents, active power, power factor, frequency; phases B and C left out \
            for a profile with phases: 1) with the same plausibility, monotonic-energy and power \
            checks, expects an error answer with bit 1 (no requested data) for an unknown data \
            item and no answer at all to a frame for another meter (it would collide on a shared \
            RS-485 bus), and times its answers. Relay control is not tried: it cuts the supply.

            Every request has one deadline (--timeout) for its whole answer, however slowly the \
            bytes come. A device that stops answering ends the run early: after --give-up-after \
            requests in a row without a valid answer (none in time, a lost connection, only broken \
            frames) nothing more is sent, and the report shows the check that was running as \
            unfinished and the rest as not run (verdict error); exit 3. A DL/T 645 meter's broken \
            frames (bad checksum, no end byte) fail frames-valid, counted by fault.

            Over GB/T 28181 (sip://host:port, the address and UDP port ParkBench listens on; \
            configure the camera's SIP server as that address, id --platform-id, domain --domain) \
            ParkBench is the platform the camera or NVR --device-id registers to, with the \
            password from --password-env or --password-file (never the command line). It checks \
            the registration (digest, challenged first, the id's type), the catalog (SumNum \
            items, split or not; the channels the profile declares; every item well formed), \
            the DeviceInfo and DeviceStatus answers, an alarm raised at the device (with \
            --alarm-timeout: press its test button or walk past it when asked; the alarm must \
            name the device or one of its channels), live video of the first channel (INVITE to \
            first whole key frame within --video-start-limit; --video-seconds of stream with no \
            lost packet, every frame a well-formed PS pack, the SSRC offered, the frame rate its \
            answer declares; BYE answered and the stream stopped), and the keepalive interval \
            (--keepalives seen, each within 20 % of the profile's). The received stream is kept \
            as video.ps in the run folder, for a decoder (ffprobe video.ps). A device that never \
            registers within --register-timeout is exit 3.

            Over OCPP 1.6J (ws://host:port, where ParkBench listens as the central system; \
            configure the charge point's central system URL as ws://host:port/<anything>/<its id>) \
            ParkBench is the CSMS the charge point --device-id connects to, with basic auth when \
            --password-env or --password-file gives its password (security profile 1). Case by \
            case, as the OCA's test tool reports: boot (subprotocol ocpp1.6, vendor and model as \
            the profile's ocpp: section says), configuration (MeterValueSampleInterval set and read \
            back), heartbeat-interval (the interval the boot answer gave, --ocpp-heartbeat, ±20 %), \
            unknown-action (answered NotImplemented), trigger-message (TriggerMessage \
            StatusNotification accepted, the status follows), change-availability (connector 1 \
            Inoperative then Operative, Unavailable and Available reported), remote-start (accepted, StartTransaction with \
            the idTag, Charging), meter-values (the session's transactionId, energy monotonic and \
            no more than the profile's max_power_kw gives), offline-queue (the connection cut and \
            refused for --outage mid-session: the meter values of the outage arrive afterwards, \
            in order, none lost, none twice), remote-stop (StopTransaction with the session's id, \
            reason Remote), reset (Soft, accepted, the charge point boots \
            again within 120 s), status-transitions (every change one OCPP 1.6 allows) and \
            messages-valid (the fields and types the 1.6 schemas require). A charge point that \
            never boots within --register-timeout is exit 3.

            Over VDA 5050 (mqtt://host:port, the broker the robot is connected to) ParkBench is \
            the fleet controller of robot --robot manufacturer/serial (topics \
            <interface>/v2/<manufacturer>/<serial>/…, the interface from the profile's vda5050: \
            section, uagv if none; broker user --mqtt-user, its password from --password-env or \
            --password-file). Case by case: connection (ONLINE, retained), state-request (a state \
            at once, the instant action FINISHED), factsheet (factsheetRequest answered, valid), \
            order-accepted, order-completed (driven to its last node, nothing left), action-states \
            (a node action WAITING → INITIALIZING → RUNNING → FINISHED, never back), order-update \
            (stops at the base's end, not into the horizon; the update that starts there is \
            stitched on), stale-update-rejected and broken-stitch-rejected (orderUpdateError, the \
            order unchanged), busy-order-rejected (a new order while driving), pause \
            (startPause/stopPause), cancel-order (stopped, nothing left, cancelOrder FINISHED), \
            header-ids (rising per topic), state-interval (at least every 30 s, watched for \
            --state-window from the first state, default 35s: the run waits out the rest), \
            last-will (CONNECTIONBROKEN on connection within --will-timeout after --cut-command \
            cuts the robot off; not run without it) and messages-valid (every message by the \
            standard's field tables, the header naming the robot). The orders run from where the robot stands, nodes --leg metres apart along \
            its map's x axis, forward then back: give it that much room. A robot never heard \
            within --register-timeout is exit 3.

            The verdict goes to a run folder like `parkbench test`'s (report.json, junit.xml, \
            report.html) and into the run history.

            Examples:
              parkbench certify --profile devices/electric-meter/acme-em3.yaml \\
                  --target tcp://192.168.1.40:502 --unit 1
              parkbench certify --profile devices/water-meter/aqua-wm20.yaml \\
                  --target tcp://127.0.0.1:1502 --unit 7 --samples 1000 --json
              parkbench certify --profile devices/electric-meter/volt-dts666.yaml \\
                  --target rtu:///dev/ttyUSB0 --baud 9600 --parity E --unit 12
              parkbench certify --profile devices/electric-meter/grid-dtzy645.yaml \\
                  --target dlt645://192.168.1.41:8899 --meter 000000000001
              CAMERA_PW=… parkbench certify --profile devices/camera/hik-ds2cd.yaml \\
                  --target sip://192.168.1.10:5060 --device-id 34020000001320000001 \\
                  --password-env CAMERA_PW --alarm-timeout 60s
              CP_PW=… parkbench certify --profile devices/ev-charger/teld-ac22.yaml \\
                  --target ws://0.0.0.0:9000 --device-id CP-0001 --password-env CP_PW
              parkbench certify --profile devices/plugins/robots/models/acme-courier-d20.yaml \\
                  --target mqtt://192.168.1.20:1883 --robot Acme/courier-A-01 --leg 3

            Exit codes: 0 certified, 1 a check failed, 2 usage or configuration error, 3 the \
            target could not be reached, did not answer, or stopped answering before every check ran.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: ArgumentHelp("The device's model profile (with a modbus: register map for a Modbus target).", valueName: "file"))
    var profile: String

    @Option(help: ArgumentHelp("""
        The device: tcp://host:port (Modbus TCP, port 502 if left out), rtu:///dev/ttyUSB0 (Modbus RTU on a serial line \
        or pty), dlt645://host:port (DL/T 645-2007 through a serial-to-TCP converter), sip://host:port (where ParkBench \
        listens for a GB/T 28181 camera or NVR to register; port 5060 if left out) or ws://host:port (where ParkBench \
        listens as the OCPP central system for a charge point) or mqtt://host:port (the broker a VDA 5050 robot is on; \
        port 1883 if left out).
        """, valueName: "tcp://host:port|rtu://device|dlt645://host:port|sip://host:port|ws://host:port|mqtt://host:port"))
    var target: String

    @Option(help: ArgumentHelp("The GB/T 28181 device's 20-digit id (sip:// targets), or the charge point's id (ws:// targets).", valueName: "id"))
    var deviceId: String?

    @Option(help: ArgumentHelp("Environment variable holding the device's SIP password (sip://) or the charge point's basic-auth password (ws://).", valueName: "name"))
    var passwordEnv: String?

    @Option(help: ArgumentHelp("File whose first line is the device's SIP password (sip://) or the charge point's password (ws://).", valueName: "file"))
    var passwordFile: String?

    @Option(help: ArgumentHelp("ParkBench's SIP server id, as configured on the device.", valueName: "id"))
    var platformId: String = "34020000002000000001"

    @Option(help: ArgumentHelp("The SIP domain (default: the first 10 digits of --device-id).", valueName: "digits"))
    var domain: String?

    @Option(help: ArgumentHelp("How long the device has to register, e.g. 120s.", valueName: "duration"))
    var registerTimeout: DeviceDuration = .seconds(120)

    @Option(help: ArgumentHelp("Keepalives to observe for the keepalive check (at least 2).", valueName: "n"))
    var keepalives: Int = 3

    @Option(help: ArgumentHelp("Wait this long for an alarm raised at the device (0: the alarm check is skipped).", valueName: "duration"))
    var alarmTimeout: DeviceDuration = .seconds(0)

    @Option(help: ArgumentHelp("How long the live stream is watched.", valueName: "duration"))
    var videoSeconds: DeviceDuration = .seconds(5)

    @Option(help: ArgumentHelp("INVITE to first whole key frame above this fails.", valueName: "duration"))
    var videoStartLimit: DeviceDuration = .seconds(2)

    @Option(help: ArgumentHelp("The DL/T 645 meter's 12-digit number (default: asked with read address, for a meter alone on its line).",
                               valueName: "number"))
    var meter: String?

    @Option(help: ArgumentHelp("Baud rate of an rtu:// target.", valueName: "n"))
    var baud: Int = 9600

    @Option(help: ArgumentHelp("Parity of an rtu:// target: N, E or O (a pty accepts only N).", valueName: "N|E|O"))
    var parity: String = "N"

    @Option(help: ArgumentHelp("Modbus unit id (slave address) of the device.", valueName: "n"))
    var unit: Int = 1

    @Option(help: ArgumentHelp("Reads timed for the response-time check.", valueName: "n"))
    var samples: Int = 200

    @Option(help: ArgumentHelp("Time between the two reads the consistency checks compare, e.g. 2s.", valueName: "duration"))
    var interval: DeviceDuration = .seconds(2)

    @Option(help: ArgumentHelp("p99 response time above this fails, e.g. 1s or 200ms.", valueName: "duration"))
    var responseLimit: DeviceDuration = .seconds(1)

    @Option(help: ArgumentHelp("Deadline for each request's whole answer, e.g. 1s or 500ms.", valueName: "duration"))
    var timeout: DeviceDuration = .seconds(1)

    @Option(help: ArgumentHelp("Stop probing after this many requests in a row without a valid answer (exit 3).", valueName: "n"))
    var giveUpAfter: Int = 3

    @Option(name: .customLong("waive"), help: ArgumentHelp(
        "A check whose failure is an accepted deviation of this device: it still runs and is reported, as skipped. Repeat for more.",
        valueName: "check-id"))
    var waived: [String] = []

    @Option(help: ArgumentHelp("The heartbeat interval the central system gives the charge point (ws:// targets).", valueName: "duration"))
    var ocppHeartbeat: DeviceDuration = .seconds(10)

    @Option(help: ArgumentHelp("How long the connection stays cut in the offline-queue case (ws:// targets).", valueName: "duration"))
    var outage: DeviceDuration = .seconds(8)

    @Option(help: ArgumentHelp("The VDA 5050 robot (mqtt:// targets): its manufacturer and serial number, the topic levels it uses.",
                               valueName: "manufacturer/serial"))
    var robot: String?

    @Option(help: ArgumentHelp("The broker user the fleet controller connects as (mqtt:// targets); its password from --password-env or --password-file.",
                               valueName: "name"))
    var mqttUser: String?

    @Option(help: ArgumentHelp("Metres between the nodes of the orders sent to the robot (mqtt:// targets).", valueName: "metres"))
    var leg: Double = 2

    @Option(help: ArgumentHelp("How long the robot's state is watched for the standard's 30 s rule (mqtt:// targets; under 30s the rule is not judged).",
                               valueName: "duration"))
    var stateWindow: DeviceDuration = .seconds(35)

    @Option(help: ArgumentHelp(
        "A shell command that cuts the robot's connection as a network fault would, for the last-will case (mqtt:// targets), e.g. 'ssh robot sudo ip link set wlan0 down'; it must exit 0.",
        valueName: "command"))
    var cutCommand: String?

    @Option(help: ArgumentHelp("How long after --cut-command the robot's last will may take (mqtt:// targets; 1.5 × its keep-alive if it only stops answering).",
                               valueName: "duration"))
    var willTimeout: DeviceDuration = .seconds(90)

    @Option(help: ArgumentHelp("Run folder (default reports/<run id>).", valueName: "dir"))
    var out: String?

    @Option(help: ArgumentHelp("Run history database (default $PARKBENCH_HISTORY or reports/history.sqlite).", valueName: "file"))
    var history: String?

    func validate() throws {
        guard (0 ... 255).contains(unit) else { throw ValidationError("--unit must be 0…255") }
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard giveUpAfter >= 1 else { throw ValidationError("--give-up-after must be at least 1") }
        guard timeout.nanoseconds >= 1_000_000, timeout.nanoseconds <= 3_600_000_000_000 else {
            throw ValidationError("--timeout must be between 1ms and 1h (got \(timeout))")
        }
        guard ["N", "E", "O"].contains(parity) else { throw ValidationError("--parity must be N, E or O") }
        guard let target = parsedTarget else {
            throw ValidationError("""
                --target must be tcp://host:port (e.g. tcp://127.0.0.1:502), rtu://<serial device> (e.g. rtu:///dev/ttyUSB0) \
                dlt645://host:port (e.g. dlt645://127.0.0.1:8899), sip://host:port (e.g. sip://192.168.1.10:5060), ws://host:port (e.g. ws://0.0.0.0:9000) \
                or mqtt://host:port (e.g. mqtt://127.0.0.1:1883)
                """)
        }
        if case .sip(let host, _) = target {
            // The address goes into the INVITE's SDP as where the camera sends video: it must be one the camera reaches.
            let octets = host.split(separator: ".", omittingEmptySubsequences: false)
            guard octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }), host != "0.0.0.0" else {
                throw ValidationError("a sip:// target names this machine's IPv4 address the camera reaches (e.g. sip://192.168.1.10:5060), not \(host)")
            }
            guard let deviceId, deviceId.count == 20, deviceId.allSatisfy(\.isNumber) else {
                throw ValidationError("a sip:// target needs --device-id, the camera's or NVR's 20-digit GB/T 28181 id")
            }
            guard (passwordEnv == nil) != (passwordFile == nil) else {
                throw ValidationError("a sip:// target needs the device's password from exactly one of --password-env NAME or --password-file FILE")
            }
            guard keepalives >= 2 else { throw ValidationError("--keepalives must be at least 2 (one interval)") }
            if let domain, domain.count != 10 || !domain.allSatisfy(\.isNumber) { throw ValidationError("--domain must be 10 digits, e.g. 3402000000") }
            guard platformId.count == 20, platformId.allSatisfy(\.isNumber) else { throw ValidationError("--platform-id must be 20 digits") }
        } else if case .ocpp = target {
            guard let deviceId, !deviceId.isEmpty, deviceId.count <= 48, !deviceId.contains("/") else {
                throw ValidationError("a ws:// target needs --device-id, the charge point's id (the last segment of the URL it connects to)")
            }
            guard passwordEnv == nil || passwordFile == nil else {
                throw ValidationError("give the charge point's password from one of --password-env or --password-file, not both")
            }
            guard ocppHeartbeat.seconds >= 1, ocppHeartbeat.seconds <= 3_600 else { throw ValidationError("--ocpp-heartbeat must be 1s to 1h") }
            guard outage.seconds >= 3 else { throw ValidationError("--outage must be at least 3s (the meter values it should queue)") }
        } else if case .vda5050 = target {
            guard deviceId == nil else { throw ValidationError("an mqtt:// target names its robot with --robot manufacturer/serial, not --device-id") }
            guard let robot, robotLevels(robot) != nil else {
                throw ValidationError("an mqtt:// target needs --robot manufacturer/serial, the robot's topic levels (e.g. --robot Acme/R-001)")
            }
            guard passwordEnv == nil || passwordFile == nil else {
                throw ValidationError("give the broker password from one of --password-env or --password-file, not both")
            }
            guard (passwordEnv == nil && passwordFile == nil) || mqttUser != nil else {
                throw ValidationError("a broker password needs --mqtt-user, the user it belongs to")
            }
            guard leg >= 0.1, leg <= 100 else { throw ValidationError("--leg must be 0.1 to 100 metres") }
        } else if deviceId != nil || passwordEnv != nil || passwordFile != nil {
            throw ValidationError("--device-id is for sip:// and ws:// targets, --password-env and --password-file for sip://, ws:// and mqtt:// ones")
        }
        if case .vda5050 = target {} else if robot != nil || mqttUser != nil || cutCommand != nil {
            throw ValidationError("--robot, --mqtt-user and --cut-command are for mqtt:// targets (a VDA 5050 robot)")
        }
        if let meter {
            guard case .dlt645 = target else { throw ValidationError("--meter names a DL/T 645 meter; use it with a dlt645:// target (Modbus takes --unit)") }
            guard meter.count == 12, meter.allSatisfy(\.isNumber) else {
                throw ValidationError("--meter must be the meter's 12-digit number, e.g. 000000000001 (got '\(meter)')")
            }
        }
    }

    /// What --target names: a Modbus device, or a DL/T 645 meter behind a TCP converter.
    private enum Target: CustomStringConvertible {
        case modbus(ModbusCertification.Target)
        case dlt645(host: String, port: Int)
        case sip(host: String, port: Int)
        case ocpp(host: String, port: Int)
        case vda5050(host: String, port: Int)

        var description: String {
            switch self {
            case .modbus(let target): target.description
            case .dlt645(let host, let port): "dlt645://\(host):\(port)"
            case .sip(let host, let port): "sip://\(host):\(port)"
            case .ocpp(let host, let port): "ws://\(host):\(port)"
            case .vda5050(let host, let port): "mqtt://\(host):\(port)"
            }
        }

        func suite(file: String) -> RunReport.SuiteInfo {
            switch self {
            case .modbus: RunReport.SuiteInfo(name: "certify-modbus", title: "Modbus device certification", file: file)
            case .dlt645: RunReport.SuiteInfo(name: "certify-dlt645", title: "DL/T 645-2007 meter certification", file: file)
            case .sip: RunReport.SuiteInfo(name: "certify-gb28181", title: "GB/T 28181 camera certification", file: file)
            case .ocpp: RunReport.SuiteInfo(name: "certify-ocpp16", title: "OCPP 1.6J charge point certification", file: file)
            case .vda5050: RunReport.SuiteInfo(name: "certify-vda5050", title: "VDA 5050 robot certification", file: file)
            }
        }
    }

    /// The probing options, the same for every protocol.
    private var settings: CertificationSettings {
        var settings = CertificationSettings()
        settings.samples = samples
        settings.interval = .nanoseconds(Int64(interval.nanoseconds))
        settings.responseLimitMilliseconds = Double(responseLimit.nanoseconds) / 1e6
        settings.timeoutMicroseconds = Int(timeout.nanoseconds / 1000)
        settings.giveUpAfter = giveUpAfter
        settings.waived = Set(waived)
        return settings
    }

    /// The device's SIP password, from the environment variable or the file named.
    private func devicePassword() throws(CertifyOptionError) -> String {
        if let passwordEnv {
            guard let value = ProcessInfo.processInfo.environment[passwordEnv], !value.isEmpty else {
                throw CertifyOptionError("--password-env \(passwordEnv): the environment variable is not set or empty")
            }
            return value
        }
        guard let passwordFile else { throw CertifyOptionError("no password: give --password-env or --password-file") }
        guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
            throw CertifyOptionError("--password-file \(passwordFile): cannot read it as UTF-8 text")
        }
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        guard !line.isEmpty else { throw CertifyOptionError("--password-file \(passwordFile): the first line is empty") }
        return line
    }

    /// `manufacturer/serial` as the two topic levels, nil when it is not two levels without wildcards.
    private func robotLevels(_ text: String) -> (manufacturer: String, serial: String)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && !$0.contains(where: { "+#".contains($0) || $0.isWhitespace }) }) else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    private var parsedTarget: Target? {
        if target.hasPrefix("rtu://") {
            let device = String(target.dropFirst(6))
            return device.hasPrefix("/") ? .modbus(.rtu(device: device, baudRate: baud, parity: Character(parity))) : nil
        }
        if target.hasPrefix("ws://") {
            let authority = target.dropFirst(5).split(separator: "/", maxSplits: 1).first ?? ""
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard let host = parts.first, !host.isEmpty, parts.count == 2, let port = Int(parts[1]), (0 ... 65_535).contains(port) else { return nil }
            return .ocpp(host: String(host), port: port)
        }
        if target.hasPrefix("mqtt://") {
            let parts = target.dropFirst(7).split(separator: ":", omittingEmptySubsequences: false)
            guard let host = parts.first, !host.isEmpty, parts.count <= 2 else { return nil }
            guard parts.count == 2 else { return .vda5050(host: String(host), port: 1883) }
            guard let port = Int(parts[1]), (1 ... 65_535).contains(port) else { return nil }
            return .vda5050(host: String(host), port: port)
        }
        if target.hasPrefix("sip://") {
            let parts = target.dropFirst(6).split(separator: ":", omittingEmptySubsequences: false)
            guard let host = parts.first, !host.isEmpty, parts.count <= 2 else { return nil }
            guard parts.count == 2 else { return .sip(host: String(host), port: 5060) }
            guard let port = Int(parts[1]), (1 ... 65_535).contains(port) else { return nil }
            return .sip(host: String(host), port: port)
        }
        var rest = Substring(target)
        let dlt645 = rest.hasPrefix("dlt645://")
        if dlt645 { rest = rest.dropFirst(9) } else if rest.hasPrefix("tcp://") { rest = rest.dropFirst(6) }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2 else { return nil }
        // DL/T 645 converters have no standard port.
        guard parts.count == 2 else { return dlt645 ? nil : .modbus(.tcp(host: String(host), port: 502)) }
        guard let port = Int(parts[1]), (1 ... 65_535).contains(port) else { return nil }
        return dlt645 ? .dlt645(host: String(host), port: port) : .modbus(.tcp(host: String(host), port: port))
    }

    func run() throws {
        let workspace = Workspace.load(options)
        let model: ModelProfile
        do { model = try ModelProfile.load(file: profile, kinds: workspace.kinds) } catch {
            for issue in error.issues { Output.error(issue.description) }
            throw ExitCode(ExitStatus.configurationError)
        }
        guard let target = parsedTarget else { throw ExitCode(ExitStatus.configurationError) }
        let started = Date()
        var device: String
        let checks: [CheckResult]
        var recording: [UInt8] = []
        switch target {
        case .modbus(let modbusTarget):
            device = "unit \(unit)"
            var configuration = ModbusCertification.Configuration(target: modbusTarget, unit: UInt8(unit), profile: model)
            configuration.settings = settings
            if !options.json { print("certifying \(device) at \(target) against \(model.model) (\(profile)) …") }
            do { checks = try ModbusCertification(configuration).run() } catch {
                Output.error("error: \(error.description)")
                let unreachable = model.modbus?.registers.isEmpty == false
                throw ExitCode(unreachable ? ExitStatus.unreachable : ExitStatus.configurationError)
            }
        case .dlt645(let host, let port):
            device = meter.map { "meter \($0)" } ?? "the meter"
            var configuration = DLT645Certification.Configuration(host: host, port: port, meter: meter, profile: model)
            configuration.settings = settings
            if !options.json { print("certifying \(device) at \(target) (DL/T 645-2007) against \(model.model) (\(profile)) …") }
            do { checks = try DLT645Certification(configuration).run() } catch {
                Output.error("error: \(error.description)")
                throw ExitCode(error.unreachable ? ExitStatus.unreachable : ExitStatus.configurationError)
            }
            // Without --meter the meter said its number (the address check's summary).
            if meter == nil, let asked = checks.first(where: { $0.id == "address" })?.summary, asked.hasPrefix("meter ") { device = asked }
        case .sip(let host, let port):
            device = deviceId ?? ""
            let password: String
            do { password = try devicePassword() } catch {
                Output.error("error: \(error.description)")
                throw ExitCode(ExitStatus.configurationError)
            }
            var configuration = CameraCertification.Configuration(
                host: host, port: UInt16(port), deviceID: device, password: password, profile: model)
            configuration.platformID = platformId
            if let domain { configuration.domain = domain }
            configuration.registerTimeout = .nanoseconds(Int64(registerTimeout.nanoseconds))
            configuration.answerTimeout = .nanoseconds(Int64(max(timeout.nanoseconds, 2_000_000_000)))
            configuration.keepalives = keepalives
            configuration.alarmTimeout = .nanoseconds(Int64(alarmTimeout.nanoseconds))
            configuration.videoSeconds = .nanoseconds(Int64(videoSeconds.nanoseconds))
            configuration.videoStartLimit = .nanoseconds(Int64(videoStartLimit.nanoseconds))
            configuration.recordingLimit = 64 << 20
            configuration.waived = Set(waived)
            let quiet = options.json
            configuration.progress = { if !quiet { print($0) } }
            if !options.json { print("certifying \(device) (GB/T 28181 \(model.kind)) against \(model.model) (\(profile)) …") }
            do {
                let outcome = try CameraCertification(configuration).run()
                checks = outcome.checks
                recording = outcome.recording
            } catch {
                Output.error("error: \(error.description)")
                throw ExitCode(error.unreachable ? ExitStatus.unreachable : ExitStatus.configurationError)
            }
        case .ocpp(let host, let port):
            device = deviceId ?? ""
            var password: String?
            if passwordEnv != nil || passwordFile != nil {
                do { password = try devicePassword() } catch {
                    Output.error("error: \(error.description)")
                    throw ExitCode(ExitStatus.configurationError)
                }
            }
            var configuration = ChargerCertification.Configuration(host: host, port: port, chargePointID: device, password: password, profile: model)
            configuration.heartbeatInterval = Int(ocppHeartbeat.seconds)
            configuration.bootTimeout = .nanoseconds(Int64(registerTimeout.nanoseconds))
            configuration.answerTimeout = .nanoseconds(Int64(max(timeout.nanoseconds, 15_000_000_000)))
            configuration.outage = .nanoseconds(Int64(outage.nanoseconds))
            configuration.waived = Set(waived)
            let quiet = options.json
            configuration.progress = { if !quiet { print($0) } }
            if !options.json { print("certifying charge point \(device) (OCPP 1.6J \(model.kind)) against \(model.model) (\(profile)) …") }
            do { checks = try ChargerCertification(configuration).run() } catch {
                Output.error("error: \(error.description)")
                throw ExitCode(error.unreachable ? ExitStatus.unreachable : ExitStatus.configurationError)
            }
        case .vda5050(let host, let port):
            guard let levels = robot.flatMap(robotLevels) else { throw ExitCode(ExitStatus.configurationError) }
            device = "\(levels.manufacturer)/\(levels.serial)"
            var configuration = RobotCertification.Configuration(host: host, port: port, manufacturer: levels.manufacturer, serialNumber: levels.serial)
            configuration.interface = model.vda5050?.interface ?? configuration.interface
            if let mqttUser {
                var password: String?
                if passwordEnv != nil || passwordFile != nil {
                    do { password = try devicePassword() } catch {
                        Output.error("error: \(error.description)")
                        throw ExitCode(ExitStatus.configurationError)
                    }
                }
                configuration.credentials = MQTTCredentials(username: mqttUser, password: password)
            }
            configuration.connectTimeout = .nanoseconds(Int64(registerTimeout.nanoseconds))
            configuration.answerTimeout = .nanoseconds(Int64(max(timeout.nanoseconds, 10_000_000_000)))
            configuration.leg = leg
            configuration.stateWindow = .nanoseconds(Int64(stateWindow.nanoseconds))
            configuration.willTimeout = .nanoseconds(Int64(willTimeout.nanoseconds))
            if let cutCommand { configuration.cutConnection = RobotCertification.shellCut(cutCommand) }
            configuration.waived = Set(waived)
            let quiet = options.json
            configuration.progress = { if !quiet { print($0) } }
            if !options.json { print("certifying robot \(device) (VDA 5050 at \(target)) against \(model.model) (\(profile)) …") }
            do { checks = try RobotCertification(configuration).run() } catch {
                Output.error("error: \(error.description)")
                throw ExitCode(error.unreachable ? ExitStatus.unreachable : ExitStatus.configurationError)
            }
        }
        let verdict = checks.map(\.verdict).max() ?? .pass
        // In a certification, `error` marks a check the device's silence left unfinished or not run.
        let unfinished = checks.filter { $0.verdict == .error }
        let runID = "certify-" + HarnessRunner.runID(started)
        let stamp = { (date: Date) in ISO8601DateFormatter().string(from: date) }
        let finished = Date()
        let report = RunReport(
            runID: runID, startedAt: stamp(started), finishedAt: stamp(finished), verdict: verdict,
            suite: target.suite(file: profile),
            platform: RunReport.PlatformInfo(name: "\(model.vendor) \(model.model)".trimmingCharacters(in: .whitespaces), file: profile,
                                             endpoint: "\(target) \(device)"),
            park: RunReport.ParkInfo(name: model.model, file: profile, devices: 1), seed: 0,
            parkbenchVersion: ParkBenchVersion.current, checks: checks,
            startedAtNanoseconds: RunReport.nanoseconds(started), finishedAtNanoseconds: RunReport.nanoseconds(finished))
        let folder = out ?? "reports/\(runID)"
        var written = true
        do throws(RunFolderError) { try RunFolder(folder).write(report) } catch {
            Output.error("error: \(error)")
            written = false
        }
        if written, !recording.isEmpty, !FileManager.default.createFile(atPath: folder + "/video.ps", contents: Data(recording)) {
            Output.error("warning: cannot write \(folder)/video.ps")
        }
        do { try RunHistory(path: history ?? RunHistory.defaultPath).record(report, folder: folder) } catch {
            Output.error("warning: \(error)")
        }
        if options.json {
            if let data = try? RunReport.makeEncoder().encode(report) { print(String(decoding: data, as: UTF8.self)) }
        } else {
            Output.table(["CHECK", "VERDICT", "MEASURED"], checks.map { [$0.id, $0.verdict.rawValue.uppercased(), $0.summary] })
            for check in checks where check.verdict != .pass || (waived.contains(check.id) && !check.findings.isEmpty) {
                for finding in check.findings.prefix(10) { print("  \(check.id): \(finding)") }
            }
            let failed = checks.filter { $0.verdict == .fail }
            if !failed.isEmpty || unfinished.isEmpty {
                print(failed.isEmpty ? "\nCERTIFIED: \(checks.filter { $0.verdict == .pass }.count) checks passed"
                                     : "\nFAIL: \(failed.map(\.id).joined(separator: ", "))")
            }
            if !unfinished.isEmpty { print("\nNOT FINISHED: \(unfinished.map(\.id).joined(separator: ", "))") }
            if written { print("report: \(folder)/report.html (also report.json, junit.xml)") }
        }
        // Checks the device's silence cut short: no verdict on it, so "did not answer", not "failed".
        if let first = unfinished.first {
            let reason = first.summary.replacingOccurrences(of: "unfinished: ", with: "").replacingOccurrences(of: "not run: ", with: "")
            Output.error("error: \(reason.split(separator: ";").first.map(String.init) ?? reason); not finished: \(unfinished.map(\.id).joined(separator: ", "))")
            throw ExitCode(ExitStatus.unreachable)
        }
        if checks.contains(where: { $0.verdict == .fail }) { throw ExitCode(ExitStatus.checkFailed) }
    }
}

/// An option of `parkbench certify` that names something unusable.
struct CertifyOptionError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
