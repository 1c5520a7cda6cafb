// reverser_server ADDRESS: serves Reverser on ADDRESS until SIGINT or
// SIGTERM. Built from the generated server half alone: it links
// sockrpc::server and no client code.

#include <iostream>

#include <absl/status/status.h>
#include <sockrpc/server/server.h>
#include <sockrpc/server/termination_signals.h>

#include "reverser_impl.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: reverser_server ADDRESS\n";
    return 2;
  }
  sockrpc::TerminationSignals signals;  // before any thread starts
  ReverserImpl service;
  sockrpc::Server server;
  absl::Status status = server.RegisterService(&service);
  if (status.ok()) status = server.Listen(argv[1]).status();
  if (status.ok()) status = server.Start();
  if (!status.ok()) {
    std::cerr << "reverser_server: " << status << "\n";
    return 1;
  }
  std::cout << "listening" << std::endl;
  signals.Wait();
  server.Shutdown();
  server.Wait();
  return 0;
}
