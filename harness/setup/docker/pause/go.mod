module guarantees-bench/setup/docker/pause

go 1.24
