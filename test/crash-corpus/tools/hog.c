/* Allocates and touches memory until the OOM killer stops it (crash-corpus "oom" scenario). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	for (;;) {
		char *p = malloc(16 << 20);

		if (!p) {
			sleep(1);
			continue;
		}
		memset(p, 0x5a, 16 << 20);
	}
}
