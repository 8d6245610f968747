// The file system's own cost of a cold round's delivery, without feedspool:
//   store-floor SOURCE DEST GROUP
// reads every regular file of SOURCE (a finished round's spool/new/) into memory, untimed,
// then, timed, writes each into DEST/tmp/ (O_CREAT|O_EXCL, one write, close) and renames it
// into DEST/new/. With GROUP > 0 the files are made durable in groups, as the spool does:
// after every GROUP files one syncfs, the group's renames, one fsync of new/. With GROUP 0
// there is one syncfs, all renames and one fsync at the end (the least a durable spool can
// do). Nothing is parsed or built: the figure is a lower bound for `run --once --force`.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, const char *name) {
  fprintf(stderr, "store-floor: %s %s: %s\n", what, name, strerror(errno));
  exit(1);
}

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct file {
  char *name;
  char *bytes;
  size_t count;
};

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: store-floor SOURCE DEST GROUP\n");
    return 2;
  }
  long group = strtol(argv[3], NULL, 10);
  DIR *source = opendir(argv[1]);
  if (!source) die("open", argv[1]);
  size_t capacity = 1024, count = 0, total = 0;
  struct file *files = malloc(capacity * sizeof *files);
  struct dirent *entry;
  while ((entry = readdir(source))) {
    if (entry->d_name[0] == '.') continue;
    int fd = openat(dirfd(source), entry->d_name, O_RDONLY);
    if (fd < 0) die("open", entry->d_name);
    struct stat info;
    if (fstat(fd, &info) != 0) die("stat", entry->d_name);
    if (!S_ISREG(info.st_mode)) {
      close(fd);
      continue;
    }
    if (count == capacity) files = realloc(files, (capacity *= 2) * sizeof *files);
    struct file *f = &files[count++];
    f->name = strdup(entry->d_name);
    f->bytes = malloc((size_t)info.st_size + 1);
    f->count = (size_t)info.st_size;
    if (read(fd, f->bytes, f->count) != (ssize_t)f->count) die("read", entry->d_name);
    close(fd);
    total += f->count;
  }
  closedir(source);

  char path[4096];
  if (mkdir(argv[2], 0755) != 0 && errno != EEXIST) die("mkdir", argv[2]);
  snprintf(path, sizeof path, "%s/tmp", argv[2]);
  if (mkdir(path, 0755) != 0) die("mkdir", path);
  int tmp = open(path, O_RDONLY | O_DIRECTORY);
  snprintf(path, sizeof path, "%s/new", argv[2]);
  if (mkdir(path, 0755) != 0) die("mkdir", path);
  int new = open(path, O_RDONLY | O_DIRECTORY);
  if (tmp < 0 || new < 0) die("open", argv[2]);

  double start = seconds();
  size_t first = 0;
  for (size_t i = 0; i < count; i++) {
    int fd = openat(tmp, files[i].name, O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0) die("create", files[i].name);
    if (write(fd, files[i].bytes, files[i].count) != (ssize_t)files[i].count)
      die("write", files[i].name);
    close(fd);
    int last = i + 1 == count;
    if (last || (group > 0 && (long)(i + 1 - first) >= group)) {
      if (syncfs(tmp) != 0) die("syncfs", argv[2]);
      for (size_t j = first; j <= i; j++)
        if (renameat(tmp, files[j].name, new, files[j].name) != 0) die("rename", files[j].name);
      if (fsync(new) != 0) die("fsync", argv[2]);
      first = i + 1;
    }
  }
  printf("files=%zu bytes=%zu group=%ld seconds=%.2f\n", count, total, group, seconds() - start);
  return 0;
}
