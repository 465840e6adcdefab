/// One OCPP-J RPC message (OCPP-J 1.6 §4, OCPP 2.0.1 part 4 §4): a CALL, its CALLRESULT or its
/// CALLERROR, each a JSON array on one WebSocket text frame.
///
/// The frame layer knows nothing of actions: it checks the array's shape and types, and leaves
/// the payload to the message models, so an unknown action can still be answered
/// `NotImplemented` with the caller's own message id.
public enum OCPPFrame: Sendable, Hashable {
    case call(id: String, action: String, payload: JSONValue)
    case result(id: String, payload: JSONValue)
    case error(id: String, code: OCPPErrorCode, description: String, details: JSONValue)

    /// The longest message id OCPP allows (both versions: 36 characters, room for a UUID).
    public static let maximumIDLength = 36

    public var id: String {
        switch self {
        case .call(let id, _, _), .result(let id, _), .error(let id, _, _, _): id
        }
    }

    /// The frame's text, as sent on the wire.
    public var text: String {
        var output = ""
        switch self {
        case .call(let id, let action, let payload):
            output += "[2,"
            JSONValue.writeString(id, to: &output)
            output += ","
            JSONValue.writeString(action, to: &output)
            output += ","
            payload.write(to: &output)
        case .result(let id, let payload):
            output += "[3,"
            JSONValue.writeString(id, to: &output)
            output += ","
            payload.write(to: &output)
        case .error(let id, let code, let description, let details):
            output += "[4,"
            JSONValue.writeString(id, to: &output)
            output += ","
            JSONValue.writeString(code.rawValue, to: &output)
            output += ","
            JSONValue.writeString(description, to: &output)
            output += ","
            details.write(to: &output)
        }
        output += "]"
        return output
    }

    /// Reads a frame, or says what is wrong with it and — when the text got as far as a CALL's
    /// id — which id to answer, since a CALL that cannot be read is still owed a CALLERROR.
    public static func parse(_ text: some StringProtocol, limits: JSONReader.Limits = JSONReader.Limits()) throws(OCPPFrameError) -> OCPPFrame {
        let value: JSONValue
        do { value = try JSONReader.parse(text, limits: limits) } catch {
            throw OCPPFrameError(callID: nil, code: .formationViolation, reason: "not JSON: \(error)")
        }
        guard case .array(let items) = value, let type = items.first?.int else {
            throw OCPPFrameError(callID: nil, code: .formationViolation, reason: "not an array starting with a message type")
        }
        guard items.count >= 2, case .string(let id) = items[1] else {
            throw OCPPFrameError(callID: nil, code: .formationViolation, reason: "no message id")
        }
        let callID = type == 2 ? id : nil
        guard !id.isEmpty, id.count <= maximumIDLength else {
            throw OCPPFrameError(callID: nil, code: .formationViolation, reason: "a message id of \(id.count) characters (1–\(maximumIDLength))")
        }
        switch type {
        case 2:
            guard items.count == 4, case .string(let action) = items[2] else {
                throw OCPPFrameError(callID: callID, code: .formationViolation, reason: "a CALL is [2, id, action, payload]")
            }
            guard case .object = items[3] else {
                throw OCPPFrameError(callID: callID, code: .formationViolation, reason: "the payload of \(action) is not an object")
            }
            return .call(id: id, action: action, payload: items[3])
        case 3:
            guard items.count == 3, case .object = items[2] else {
                throw OCPPFrameError(callID: nil, code: .formationViolation, reason: "a CALLRESULT is [3, id, {payload}]")
            }
            return .result(id: id, payload: items[2])
        case 4:
            guard items.count == 5, case .string(let code) = items[2], case .string(let description) = items[3] else {
                throw OCPPFrameError(callID: nil, code: .formationViolation, reason: "a CALLERROR is [4, id, code, description, details]")
            }
            return .error(id: id, code: OCPPErrorCode(rawValue: code) ?? .genericError, description: description, details: items[4])
        default:
            throw OCPPFrameError(callID: nil, code: .formationViolation, reason: "message type \(type) (2 CALL, 3 CALLRESULT, 4 CALLERROR)")
        }
    }
}

/// The error codes of a CALLERROR. 1.6 spells one `OccurenceConstraintViolation`; 2.0.1 fixed
/// the spelling and added three. A code this table does not hold is read as `GenericError`.
public enum OCPPErrorCode: String, Sendable, Hashable, CaseIterable {
    case notImplemented = "NotImplemented"
    case notSupported = "NotSupported"
    case internalError = "InternalError"
    case protocolError = "ProtocolError"
    case securityError = "SecurityError"
    case formationViolation = "FormationViolation"
    case propertyConstraintViolation = "PropertyConstraintViolation"
    case occurenceConstraintViolation = "OccurenceConstraintViolation"
    case occurrenceConstraintViolation = "OccurrenceConstraintViolation"
    case typeConstraintViolation = "TypeConstraintViolation"
    case genericError = "GenericError"
    case formatViolation = "FormatViolation"
    case messageTypeNotSupported = "MessageTypeNotSupported"
    case rpcFrameworkError = "RpcFrameworkError"
}

/// A frame that could not be read: the CALLERROR code to answer with, the id of the CALL it
/// answers (nil when there is none to answer), and what was wrong.
public struct OCPPFrameError: Error, Sendable, Hashable, CustomStringConvertible {
    public var callID: String?
    public var code: OCPPErrorCode
    public var reason: String
    public var description: String { reason }

    /// The answer the peer is owed, when it sent a CALL.
    public var answer: OCPPFrame? {
        callID.map { .error(id: $0, code: code, description: reason, details: .object([:])) }
    }
}
