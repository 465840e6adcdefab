import ParkModbus
import Testing

/// Register layouts as vendors' manuals print them.
@Suite struct ModbusValueFormatTests {
    @Test func float32InTheFourByteOrders() {
        // 230.5 is 0x43668000.
        #expect(ModbusValueFormat(.float32, order: .abcd).encode(230.5) == [0x4366, 0x8000])
        #expect(ModbusValueFormat(.float32, order: .cdab).encode(230.5) == [0x8000, 0x4366])
        #expect(ModbusValueFormat(.float32, order: .badc).encode(230.5) == [0x6643, 0x0080])
        #expect(ModbusValueFormat(.float32, order: .dcba).encode(230.5) == [0x0080, 0x6643])
        for order in ModbusValueFormat.ByteOrder.allCases {
            let format = ModbusValueFormat(.float32, order: order)
            #expect(format.decode(format.encode(-17.25)) == -17.25, "\(order)")
        }
    }

    @Test func scaledIntegersRoundAndClamp() {
        let energy = ModbusValueFormat(.uint32, scale: 100)
        #expect(energy.encode(123_456.78) == [0x00BC, 0x614E], "12,345,678 hundredths")
        #expect(energy.decode([0x00BC, 0x614E]) == 123_456.78)
        #expect(ModbusValueFormat(.int16).encode(-5) == [0xFFFB])
        #expect(ModbusValueFormat(.int16).decode([0xFFFB]) == -5)
        #expect(ModbusValueFormat(.uint16).encode(70_000) == [0xFFFF], "beyond the type: its limit, as a register would")
        #expect(ModbusValueFormat(.uint16).encode(-1) == [0])
        #expect(ModbusValueFormat(.int32, order: .cdab, scale: 10).encode(-1.5) == [0xFFF1, 0xFFFF])
        #expect(ModbusValueFormat(.float64).decode(ModbusValueFormat(.float64).encode(0.1)) == 0.1)
        #expect(ModbusValueFormat(.uint32).decode([1]) == nil, "wrong register count")
    }
}
