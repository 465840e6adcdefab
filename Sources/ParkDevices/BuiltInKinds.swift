import ParkCore

/// The device kinds compiled into ParkBench.
public enum BuiltInKinds {
    /// Every built-in kind, in the order `parkbench devices list` shows them.
    public static let all: [any DeviceKind] = [
        SmokeDetectorKind(),
        EmergencyButtonKind(),
        WaterLeakSensorKind(),
        EnvironmentSensorKind(),
        FireWaterPressureKind(),
        FireWaterLevelKind(),
        HydrantKind(),
        SounderKind(),
        ElectricMeterKind(),
        WaterMeterKind(),
    ]
}
