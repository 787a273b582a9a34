/* elf.c - just enough of ELF to look inside what the compiler and the
 * linker made from a learner's file: section names and sizes, symbols.
 * Every offset is checked against the file, so a damaged file is refused
 * rather than read out of bounds; extended numbering (more than 65279
 * sections, which a short source can ask for) is followed.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gr_elf {
  gr_buf_t b;               /* the whole file */
  const Elf64_Shdr *sh;
  size_t nsh;
  const char *shstr;        /* section names */
  size_t shstr_len;
  const Elf64_Sym *sym;     /* the symbol table (.symtab), if any */
  size_t nsym;
  const char *str;
  size_t str_len;
} gr_elf_t;

static void elf_close(gr_elf_t *e);

#define IN_FILE(e, off, size) ((off) <= (e)->b.len && (size) <= (e)->b.len - (off))

static int elf_open(const char *path, gr_elf_t *e) {
  memset(e, 0, sizeof *e);
  if (gr_read_file(path, 256 << 20, &e->b) < 0 || e->b.len < sizeof(Elf64_Ehdr) ||
      memcmp(e->b.data, ELFMAG, SELFMAG) != 0 || e->b.data[EI_CLASS] != ELFCLASS64)
    goto bad;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)e->b.data;
  if (eh->e_shoff == 0 || !IN_FILE(e, eh->e_shoff, sizeof(Elf64_Shdr)))
    goto bad;
  e->sh = (const Elf64_Shdr *)(e->b.data + eh->e_shoff);
  e->nsh = eh->e_shnum ? eh->e_shnum : e->sh[0].sh_size;
  size_t names = eh->e_shstrndx == SHN_XINDEX ? e->sh[0].sh_link : eh->e_shstrndx;
  if (e->nsh > e->b.len / sizeof(Elf64_Shdr) ||
      !IN_FILE(e, eh->e_shoff, e->nsh * sizeof(Elf64_Shdr)) || names >= e->nsh ||
      !IN_FILE(e, e->sh[names].sh_offset, e->sh[names].sh_size))
    goto bad;
  e->shstr = e->b.data + e->sh[names].sh_offset;
  e->shstr_len = e->sh[names].sh_size;
  /* Exactly one symbol table, of real symbols: a second one (a decoy
   * placed before the real one) would hide what the file defines. */
  int tables = 0;
  for (size_t i = 0; i < e->nsh; i++) {
    if (e->sh[i].sh_type != SHT_SYMTAB)
      continue;
    const Elf64_Shdr *st = &e->sh[i];
    if (++tables > 1 || st->sh_entsize != sizeof(Elf64_Sym) || st->sh_link >= e->nsh ||
        !IN_FILE(e, st->sh_offset, st->sh_size) ||
        !IN_FILE(e, e->sh[st->sh_link].sh_offset, e->sh[st->sh_link].sh_size))
      goto bad;
    e->sym = (const Elf64_Sym *)(e->b.data + st->sh_offset);
    e->nsym = st->sh_size / sizeof(Elf64_Sym);
    e->str = e->b.data + e->sh[st->sh_link].sh_offset;
    e->str_len = e->sh[st->sh_link].sh_size;
  }
  if (tables != 1)
    goto bad;
  return 0;
bad:
  elf_close(e);
  return -1;
}

static void elf_close(gr_elf_t *e) { gr_buf_free(&e->b); }

static const char *name_at(const char *tab, size_t len, size_t at) {
  if (at >= len || !memchr(tab + at, 0, len - at))
    return "";
  return tab + at;
}

static const char *elf_section_name(const gr_elf_t *e, size_t i) {
  return i < e->nsh ? name_at(e->shstr, e->shstr_len, e->sh[i].sh_name) : "";
}

static const Elf64_Shdr *elf_section(const gr_elf_t *e, const char *name) {
  for (size_t i = 0; i < e->nsh; i++)
    if (!strcmp(elf_section_name(e, i), name))
      return &e->sh[i];
  return NULL;
}

static const char *elf_symbol_name(const gr_elf_t *e, size_t i) {
  return i < e->nsym ? name_at(e->str, e->str_len, e->sym[i].st_name) : "";
}

static const Elf64_Sym *elf_symbol(const gr_elf_t *e, const char *name) {
  for (size_t i = 0; i < e->nsym; i++)
    if (e->sym[i].st_shndx != SHN_UNDEF && !strcmp(elf_symbol_name(e, i), name))
      return &e->sym[i];
  return NULL;
}

static char *msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *msg(const char *fmt, ...) {
  va_list ap;
  char *out = NULL;
  va_start(ap, fmt);
  if (vasprintf(&out, fmt, ap) < 0)
    out = gr_xstrdup("(out of memory)");
  va_end(ap);
  return out;
}

/* Calls no exercise needs, that would let code under test change the
 * test program while it runs (its memory's protection, its code, another
 * process), reach the grader's internals, or go around the C library. */
static const char *const forbidden_calls[] = {
    "mprotect", "pkey_mprotect", "syscall", "ptrace", "process_vm_readv",
    "process_vm_writev", "dlopen", "dlmopen", "dlsym", "dlvsym", "personality",
    NULL};

/* What wbtest.h's macros call: a file of learner-written tests names them
 * through WB_TEST, wb_run and the wb_assert_ macros. */
static const char *const test_macro_names[] = {
    "wb__body_done", "wb__run", "wb__assert_no_block", "wb__assert_calls",
    "wb__assert_overlap", "wb__assert_no_leaks", "wb__default_loop_wanted",
    NULL};

static int test_macro_name(const char *name, size_t n) {
  for (int i = 0; test_macro_names[i]; i++)
    if (strlen(test_macro_names[i]) == n && !strncmp(name, test_macro_names[i], n))
      return 1;
  return 0;
}

static char *uses_forbidden(const char *name, int tests_file) {
  size_t n = strcspn(name, "@");
  if (tests_file && test_macro_name(name, n))
    return NULL;
  for (int i = 0; forbidden_calls[i]; i++)
    if (strlen(forbidden_calls[i]) == n && !strncmp(name, forbidden_calls[i], n))
      return msg("your file calls %s(), which the exercises never need and "
                 "the grader does not allow: it could change the test "
                 "program while it runs. Remove it.", forbidden_calls[i]);
  if (!strncmp(name, "__start_", 8) || !strncmp(name, "__stop_", 7) ||
      !strncmp(name, "wb__", 4))
    return msg("your file uses %.*s, a name of the tests' own machinery: "
               "code of yours may not reach into it. Remove it.", (int)n, name);
  return NULL;
}

/* System calls made by the file's own instructions (inline assembly),
 * found by disassembling it: the first one, or NULL. */
static char *raw_system_call(const char *obj) {
  char *argv[] = {"objdump", "-d", "--no-show-raw-insn", (char *)obj, NULL};
  gr_buf_t out = {0};
  char *why = NULL;
  int st = gr_run_capture(argv, &out, 64 << 20);
  if (st != 0 || !out.data)
    why = msg("the grader could not disassemble your compiled file to check it");
  for (char *l = out.data; l && *l && !why; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
    char *tab = strchr(l, '\t');
    size_t len = strcspn(l, "\n");
    if (!tab || (size_t)(tab - l) > len)
      continue;
    if (!strncmp(tab + 1, "syscall", 7) || !strncmp(tab + 1, "sysenter", 8) ||
        !strncmp(tab + 1, "int    $0x80", 12) || !strncmp(tab + 1, "svc", 3))
      why = msg("your file makes a system call with its own instructions "
                "(inline assembly), which the exercises never need and the "
                "grader does not allow. Remove it.");
  }
  gr_buf_free(&out);
  return why;
}

/* An indirect function (GNU ifunc): its resolver would run while the test
 * program is being loaded, before the runner has taken its secret. A
 * "wb_tests" section, or the linker's __start_/__stop_ symbols: tests of
 * its own next to the workbook's (the linked table is checked too). */
char *gr_elf_forbidden(const char *obj, const char *(*reserved)(const char *name),
                       int tests_file) {
  gr_elf_t e;
  char *why = NULL;
  const char *from;
  if (elf_open(obj, &e) < 0)
    return msg("your file compiled into an object the grader cannot check "
               "(it must have exactly one symbol table, as the compiler "
               "makes it): does it use assembler directives (asm) to add "
               "sections? Remove them.");
  if (!tests_file && elf_section(&e, "wb_tests"))
    why = msg("your file registers tests of its own (a \"wb_tests\" section): "
              "only the workbook's tests count. Remove them.");
  /* What it defines first, then what it uses: the first reason is named. */
  for (size_t k = 0; k < e.nsym && !why; k++) {
    const char *name = elf_symbol_name(&e, k);
    if (e.sym[k].st_shndx == SHN_UNDEF)
      continue;
    if (ELF64_ST_TYPE(e.sym[k].st_info) == STT_GNU_IFUNC)
      why = msg("your file defines \"%s\" as an indirect function (ifunc): its "
                "resolver would run while the test is being loaded, before the "
                "tests can watch it, and the grader does not allow that. Make "
                "it a plain function.", name);
    else if (!strncmp(name, "__start_", 8) || !strncmp(name, "__stop_", 7))
      why = msg("your file defines \"%s\", a name the linker keeps for itself "
                "(it marks where a section starts or stops). Rename it.", name);
    else if (tests_file && !strcmp(name, "wb__default_loop_wanted"))
      continue; /* WB_DEFAULT_LOOP; in a file of tests */
    else if (ELF64_ST_BIND(e.sym[k].st_info) != STB_LOCAL && reserved && (from = reserved(name)))
      why = msg("your file defines %s, which %s already has%s: yours would "
                "replace it for the whole program, the tests included. Give "
                "yours another name, or make it static.", name, from,
                strcmp(from, "the test program") ? ""
                    : " (Check or the workbook's test runtime)");
  }
  for (size_t k = 0; k < e.nsym && !why; k++)
    if (e.sym[k].st_shndx == SHN_UNDEF)
      why = uses_forbidden(elf_symbol_name(&e, k), tests_file);
  elf_close(&e);
  return why ? why : raw_system_call(obj);
}

int gr_elf_tests_table_ok(const char *bin, size_t entries, size_t size) {
  gr_elf_t e;
  if (elf_open(bin, &e) < 0)
    return 0;
  const Elf64_Shdr *sec = elf_section(&e, "wb_tests");
  const Elf64_Sym *start = elf_symbol(&e, "__start_wb_tests");
  const Elf64_Sym *stop = elf_symbol(&e, "__stop_wb_tests");
  int ok = sec && start && stop && sec->sh_size == entries * size &&
           start->st_value == sec->sh_addr && stop->st_value == sec->sh_addr + sec->sh_size;
  elf_close(&e);
  return ok;
}

long long gr_elf_load_size(const char *bin) {
  /* Only the headers: the program itself may be large. */
  long long total = -1;
  int fd = open(bin, O_RDONLY | O_CLOEXEC);
  Elf64_Ehdr eh;
  if (fd < 0)
    return -1;
  if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
      eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
      eh.e_phnum > 0 && eh.e_phnum < 256) {
    Elf64_Phdr ph[256];
    size_t bytes = eh.e_phnum * sizeof(Elf64_Phdr);
    if (pread(fd, ph, bytes, (off_t)eh.e_phoff) == (ssize_t)bytes) {
      total = 0;
      for (int i = 0; i < eh.e_phnum; i++)
        if (ph[i].p_type == PT_LOAD) /* thread-local data is inside one */
          total += (long long)ph[i].p_memsz;
        else if (ph[i].p_type == PT_TLS) /* each thread gets a copy: one here */
          total += (long long)(ph[i].p_memsz - ph[i].p_filesz);
    }
  }
  close(fd);
  return total;
}
