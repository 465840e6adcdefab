import ParkPluginKit

/// One pedestrian access-control terminal: the behaviour behind ``AccessTerminalKind``.
///
/// Each `present` stimulus starts one recognition that completes after a time that depends on
/// the credential: a face takes `face_time ± face_jitter` (uniform), a card, QR code or
/// password its fixed time ± 10 % (uniform); never under 1 ms. People may present faster than
/// that (a queue at a turnstile, two terminals' worth of stimuli on one), so every pending
/// presentation has its own timer, found again by the sequence number in the timer's tag.
///
/// When the recognition completes one draw decides it: an enrolled person is denied
/// `not-recognised` with probability `false_reject_rate`, else granted; a person who is not
/// enrolled is granted with probability `false_accept_rate`, else denied `not-enrolled`, and
/// an unknown face also raises `stranger`. A second draw gives the face similarity, uniform
/// in 0.85-0.99 when granted and 0.30-0.80 when denied (1.0 for the other credentials, which
/// either match or do not).
///
/// The terminal's floor is the park file's floor if it gives one, else the `floor`
/// parameter. All randomness comes from the context, so one run seed gives one run.
final class AccessTerminal: PluginDevice {
    typealias Timer = AccessTerminalKind.Timer

    /// Someone who has presented a credential and is waiting for the terminal's decision.
    private struct Presentation {
        var person: String
        var method: String
        var homeFloor: Int64
        var enrolled: Bool
    }

    private let floor: Int64
    private let faceTime: Double
    private let faceJitter: Double
    private let cardTime: Double
    private let qrTime: Double
    private let passwordTime: Double
    private let falseRejectRate: Double
    private let falseAcceptRate: Double
    private let heartbeat: PluginHeartbeat

    /// Presentations in flight, each with its recognition timer.
    private var pending = PluginPendingWork<Presentation>(timer: Timer.recognition.rawValue)

    /// The shortest recognition: a terminal never answers in zero time, and a zero delay would
    /// let a decision overtake the stimulus that caused it in the ledger's order.
    private static let minimumRecognition: Double = 1_000_000
    /// Card, QR and password times vary by this fraction either way.
    private static let fixedTimeSpread = 0.10

    init(config: PluginDeviceConfig) throws {
        floor = try config.floor.map(Int64.init) ?? config.int("floor")
        faceTime = Double(try config.duration("face_time"))
        faceJitter = Double(try config.duration("face_jitter"))
        cardTime = Double(try config.duration("card_time"))
        qrTime = Double(try config.duration("qr_time"))
        passwordTime = Double(try config.duration("password_time"))
        falseRejectRate = try config.double("false_reject_rate")
        falseAcceptRate = try config.double("false_accept_rate")
        heartbeat = try PluginHeartbeat(config, tag: Timer.heartbeat.rawValue)
        guard (0 ... 1).contains(falseRejectRate), (0 ... 1).contains(falseAcceptRate) else {
            throw PluginDeviceError("device '\(config.id)': false_reject_rate and false_accept_rate must be between 0 and 1")
        }
    }

    func start(_ context: PluginContext) {
        heartbeat.start(context)
    }

    func timerFired(tag: UInt32, _ context: PluginContext) {
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            heartbeat.beat(context)
        case .recognition:
            guard let presentation = pending.take(firedTag: tag) else { return }
            decide(presentation, context)
        case nil:
            return
        }
    }

    func apply(stimulus: PluginMessage, _ context: PluginContext) throws {
        switch stimulus.name {
        case "present":
            try present(stimulus, context)
        case "tamper":
            context.emit(event: "tamper", [PluginReading("floor", .int(floor))])
        default:
            // Unreachable through the kit, which only lets declared stimuli through.
            throw PluginDeviceError("access-terminal has no stimulus '\(stimulus.name)'")
        }
    }

    func handle(command: PluginMessage, _ context: PluginContext) -> PluginCommandResult {
        // Unreachable through the kit, which rejects undeclared commands and this kind declares
        // none; kept so the device stays correct if it is driven some other way.
        .rejected("access-terminal does not know the command '\(command.name)'")
    }

    // MARK: Behaviour

    private func present(_ stimulus: PluginMessage, _ context: PluginContext) throws {
        let person = try stimulus.string("person")
        guard (1 ... 64).contains(person.count) else {
            throw PluginDeviceError("present: 'person' must be 1-64 characters, got '\(person)'")
        }
        let method = try stimulus.string("method", default: "face")
        guard AccessTerminalKind.methods.contains(method) else {
            throw PluginDeviceError(
                "present: 'method' must be one of \(AccessTerminalKind.methods.sorted().joined(separator: ", ")), got '\(method)'")
        }
        let homeFloor = try stimulus.int("home_floor", default: floor)
        let enrolled = try stimulus.bool("enrolled", default: true)

        let spread = 2 * context.nextUnit() - 1
        let time: Double = switch method {
        case "face": faceTime + spread * faceJitter
        case "card": cardTime * (1 + spread * Self.fixedTimeSpread)
        case "qr": qrTime * (1 + spread * Self.fixedTimeSpread)
        default: passwordTime * (1 + spread * Self.fixedTimeSpread)
        }
        let delay = max(Self.minimumRecognition, time)
        pending.add(after: UInt64(delay.rounded()), context) { _ in
            Presentation(person: person, method: method, homeFloor: homeFloor, enrolled: enrolled)
        }
    }

    private func decide(_ presentation: Presentation, _ context: PluginContext) {
        let draw = context.nextUnit()
        let granted = presentation.enrolled ? draw >= falseRejectRate : draw < falseAcceptRate
        let isFace = presentation.method == "face"
        // Uniform within each band, so a platform can learn nothing exact from the score;
        // three decimals, as terminals report it, rather than seventeen digits of noise.
        let band = context.nextUnit()
        let similarity = isFace ? ((granted ? 0.85 + band * 0.14 : 0.30 + band * 0.50) * 1_000).rounded() / 1_000 : 1.0
        let truth = PluginValue.string(presentation.person)
        if granted {
            // A false accept is granted as the person claimed: the terminal believes it.
            context.emit(event: "granted", [
                PluginReading("person", truth, truth: truth),
                PluginReading("method", .string(presentation.method)),
                PluginReading("floor", .int(floor)),
                PluginReading("home_floor", .int(presentation.homeFloor)),
                PluginReading("similarity", .double(similarity)),
            ])
            return
        }
        context.emit(event: "denied", [
            PluginReading("person", "unknown", truth: truth),
            PluginReading("method", .string(presentation.method)),
            PluginReading("floor", .int(floor)),
            PluginReading("reason", presentation.enrolled ? "not-recognised" : "not-enrolled"),
            PluginReading("similarity", .double(similarity)),
        ])
        if isFace, !presentation.enrolled {
            context.emit(event: "stranger", [
                PluginReading("person", "unknown", truth: truth),
                PluginReading("floor", .int(floor)),
                PluginReading("similarity", .double(similarity)),
            ])
        }
    }
}
