// Logging: plain text on a terminal, one JSON object per line otherwise (for journald and log
// shippers). Never log a password, a hash, a token or a secret.
#pragma once

namespace gatehouse::obs {

void InitLogging();

}  // namespace gatehouse::obs
