import CModbus

/// libmodbus's reply building with bytes in and bytes out, no client socket: one whole request
/// frame in, the reply an endpoint would send out (or nil when it would send none).
///
/// It is the endpoints' own ``ModbusResponder`` — unit directory, faults, the short-PDU guard,
/// `modbus_reply`, the counters — on a libmodbus context made the way ``ModbusTCPServer`` or
/// ``ModbusRTUServer`` makes it. The endpoints build every reply through the same socket pair
/// and read it back, so a test or a fuzz target driving this drives the code a master reaches;
/// only framing (``ModbusTCPFraming``, the RTU CRC check) and the transport are left out.
///
/// One thread at a time, as an endpoint's thread uses its responder.
public final class ModbusReplier: @unchecked Sendable {
    /// The ADU the frames are in.
    public enum Framing: Sendable, Hashable {
        /// MBAP header (transaction id, protocol id, length, unit id), then the PDU; a unit id
        /// without a unit is answered exception 0B, as a gateway does.
        case tcp
        /// Address, PDU, CRC; an address without a unit gets no reply, as on an RS-485 bus.
        case rtu
    }

    /// The largest reply of either framing: a Modbus TCP ADU is at most 260 bytes (7-byte MBAP
    /// header and a 253-byte PDU), an RTU one 256.
    public static let maximumReplyLength = Int(MODBUS_TCP_MAX_ADU_LENGTH)

    public let framing: Framing
    private let context: OpaquePointer
    private let responder: ModbusResponder

    public init(framing: Framing) throws(ModbusError) {
        self.framing = framing
        // As the endpoints make theirs: libmodbus only builds replies from it, so the address and
        // the serial settings are never used.
        let made = switch framing {
        case .tcp: modbus_new_tcp("127.0.0.1", 0)
        case .rtu: modbus_new_rtu("/dev/null", 9600, CChar(UInt8(ascii: "N")), 8, 1)
        }
        guard let context = made else { throw ModbusError("cannot create a Modbus \(framing) context") }
        self.context = context
        do {
            responder = try ModbusResponder(context: context, absentUnit: framing == .tcp ? .gatewayException : .silence)
        } catch {
            modbus_free(context)
            throw error
        }
    }

    deinit { modbus_free(context) }

    /// Puts `unit` behind unit id `id` (replacing any), or removes it with nil.
    public func setUnit(_ id: UInt8, _ unit: (any ModbusUnit)?) { responder.setUnit(id, unit) }

    /// Makes unit `id` misbehave (``ModbusFaults/none`` to stop). A delay is not applied: it says
    /// when an endpoint answers, not what.
    public func setFaults(_ faults: ModbusFaults, for id: UInt8) { responder.setFaults(faults, for: id) }

    /// The reply to `frame`, one whole request (an RTU frame with its CRC, already checked), or nil
    /// when an endpoint would answer nothing: no function code, a silent unit, an absent unit on
    /// RTU, an RTU broadcast. Writes change the unit's tables and are reported to it.
    public func reply(to frame: [UInt8]) -> [UInt8]? {
        frame.withUnsafeBufferPointer { responder.reply(to: $0) }
    }

    /// The reply to the frame in `frame`, read in place: libmodbus is handed these very bytes,
    /// so a caller that puts them against a guard page sees any read past the frame.
    public func reply(to frame: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard frame.baseAddress != nil else { return nil }
        return responder.reply(to: frame)
    }

    /// Counters since creation, as an endpoint counts them (requests, exceptions, short PDUs…).
    public var statistics: ModbusEndpointStatistics { responder.statistics }
}
