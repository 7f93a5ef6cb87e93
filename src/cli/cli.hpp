// The command line: `gatehouse [serve] [settings]`, `gatehouse version`.
#pragma once

namespace gatehouse::cli {

// Exit status: 0 on success, 2 for a bad setting or usage, 1 when the service fails to run.
int Main(int argc, char** argv);

}  // namespace gatehouse::cli
