#ifndef SKYNET_MEM_API_H
#define SKYNET_MEM_API_H

/* Marks the layer's public functions: the library hides everything else. */
#ifndef SKYNET_MEM_API
#define SKYNET_MEM_API __attribute__((visibility("default")))
#endif

#endif
