// Whether the store writes the event log's rows (API.md §12). Always, except in the bench's
// second binary (CMake GATEHOUSE_RECORD_EVENTS=OFF, which defines GATEHOUSE_NO_EVENT_ROWS for
// the files that write them and nothing else): the only way to measure what recording events
// costs a request, since a served gatehouse cannot switch them off.
#pragma once

namespace gatehouse::store {

// Namespace-scope constexpr: internal linkage, so a file built without events breaks no rule of
// one definition with the others.
#ifdef GATEHOUSE_NO_EVENT_ROWS
constexpr bool kWriteEventRows = false;
#else
constexpr bool kWriteEventRows = true;
#endif

}  // namespace gatehouse::store
