// The ABI is header-only; SwiftPM wants at least one source file in a C target.
#include "parkbench_plugin.h"
