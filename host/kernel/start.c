/* The kernel's life: the registry, the run queue, the clock and timer, and
 * N worker threads that run one message of a ready mailbox at a time. */

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "clock.h"
#include "context.h"
#include "handle.h"
#include "skynet_mem.h"
#include "timer.h"

static struct {
	int nworkers;
	pthread_t *workers;
} S;

static void *worker_main(void *arg) {
	(void)arg;
	skynet_mem_set_current(0);
	struct message_queue *q;
	while ((q = globalmq_pop()) != NULL)
		context_dispatch(q);
	skynet_mem_flush();
	return NULL;
}

int kernel_start(int threads) {
	handle_init();
	globalmq_init(context_drop_message);
	clock_reset();
	if (timer_start() != 0)
		return -1;
	S.nworkers = threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (S.nworkers <= 0)
		S.nworkers = 1;
	S.workers = calloc((size_t)S.nworkers, sizeof(pthread_t));
	if (S.workers == NULL) {
		S.nworkers = 0;
		return -1;
	}
	for (int i = 0; i < S.nworkers; i++)
		if (pthread_create(&S.workers[i], NULL, worker_main, NULL) != 0) {
			S.nworkers = i;
			return -1;
		}
	return 0;
}

void kernel_stop(void) {
	timer_stop();
	globalmq_shutdown();
	for (int i = 0; i < S.nworkers; i++)
		pthread_join(S.workers[i], NULL);
	free(S.workers);
	S.workers = NULL;
	S.nworkers = 0;
	context_release_all();
	handle_exit();
	skynet_mem_flush();
}
