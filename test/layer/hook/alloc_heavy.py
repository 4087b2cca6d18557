# An allocation-heavy Python program; prints a checksum.
import hashlib
import threading

def work(n, out):
    d = {}
    for i in range(n):
        d[str(i) * (i % 7 + 1)] = bytearray(i % 3000)
    out.append(sum(len(v) for v in d.values()))

out = []
threads = [threading.Thread(target=work, args=(20000, out)) for _ in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
blob = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(50000))
print(sorted(out), len(blob))
