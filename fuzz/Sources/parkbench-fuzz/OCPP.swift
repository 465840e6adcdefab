import ParkOCPP

// MARK: - OCPP-J (what every charger and central system reads from its peer)

/// The bytes as JSON and as an OCPP-J frame: whatever parses writes back to text that parses to
/// an equal value, a CALL that cannot be read owes an answer by its id, and both ends' sessions
/// take the text (and reply to it) without trapping.
let ocppTarget = FuzzTarget(name: "ocpp", summary: "JSONReader and OCPPFrame: parse → text → parse is the identity; both sessions take any text") { bytes in
    var input = Choices(bytes)
    let selector = input.byte()
    let rest = Array(input.rest)

    if let value = try? JSONReader.parse(bytes: rest) {
        let again = try? JSONReader.parse(value.text)
        check(again == value, "JSON \(value) wrote \(value.text), which reads back as \(String(describing: again))")
    }
    let text = String(decoding: rest, as: UTF8.self)
    do throws(OCPPFrameError) {
        let frame = try OCPPFrame.parse(text)
        let again = try? OCPPFrame.parse(frame.text)
        check(again == frame, "frame \(frame) wrote \(frame.text), which reads back as \(String(describing: again))")
        check(frame.id.count <= OCPPFrame.maximumIDLength, "an id of \(frame.id.count) characters")
    } catch {
        if let answer = error.answer {
            check((try? OCPPFrame.parse(answer.text)) == answer, "the CALLERROR owed for \(error) does not read back")
        }
    }

    // Both ends take it as the next text on an open connection.
    var chargePoint = OCPPChargePointSession(settings: .init(vendor: "Fuzz", model: "CP"))
    chargePoint.connectionOpened(now: 0)
    _ = chargePoint.poll(now: 0)
    if selector & 1 != 0 { chargePoint.receive(#"[3,"1",{"status":"Accepted","interval":10,"currentTime":"2026-01-01T00:00:00Z"}]"#, now: 1) }
    chargePoint.receive(text, now: 2)
    for frame in chargePoint.poll(now: 3) { check((try? OCPPFrame.parse(frame.text)) == frame, "the charge point sent \(frame.text)") }
    _ = chargePoint.takeEvents()

    var centralSystem = OCPPCentralSystemSession()
    if selector & 2 != 0 { centralSystem.call("Reset", ["type": "Soft"]) }
    _ = centralSystem.poll(now: 0)
    centralSystem.receive(text, now: 1)
    for event in centralSystem.takeEvents() {
        if case .call(let id, _, _) = event { centralSystem.answer(id, payload: [:]) }
    }
    for frame in centralSystem.poll(now: 2) { check((try? OCPPFrame.parse(frame.text)) == frame, "the central system sent \(frame.text)") }
}
