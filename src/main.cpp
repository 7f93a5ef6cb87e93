#include "cli/cli.hpp"

int main(int argc, char** argv) { return gatehouse::cli::Main(argc, argv); }
