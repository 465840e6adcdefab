import ParkCore

/// The device kinds compiled into ParkBench.
public enum BuiltInKinds {
    /// Every built-in kind, in the order `parkbench devices list` shows them.
    public static let all: [any DeviceKind] = [
        SmokeDetectorKind(),
        EmergencyButtonKind(),
        WaterLeakSensorKind(),
        EnvironmentSensorKind(),
        AnalogGaugeKind.fireWaterPressure,
        AnalogGaugeKind.fireWaterLevel,
        HydrantKind(),
        SounderKind(),
        ElectricMeterKind(),
        WaterMeterKind(),
        CameraKind(),
        NVRKind(),
        EVChargerKind(),
    ]
}
