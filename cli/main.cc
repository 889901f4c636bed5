// replplan: the thin CLI. Argument parsing and output only; the work is in engine/ and providers/.
#include <iostream>

int main() {
  std::cout << "replplan\n";
  return 0;
}
