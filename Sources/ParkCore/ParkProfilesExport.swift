// The vocabulary of device kinds (descriptors, point values, durations, stimuli, placements)
// lives in ParkProfiles, so that profiles can be read without the engine; a module that imports
// ParkCore sees it as before.
@_exported import ParkProfiles
