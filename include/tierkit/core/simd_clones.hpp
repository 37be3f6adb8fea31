#pragma once
/// @file simd_clones.hpp
/// TIERKIT_SIMD_CLONES: put before a hot kernel to compile it twice on x86-64 with GCC
/// or Clang, for AVX2 and for the baseline; the loader picks one for the CPU (an
/// ifunc). No FMA is enabled, so both versions give the same bits. Sanitizer builds
/// keep one version (ifunc resolvers run before the sanitizer runtime is up).
/// Inline kernels in headers get their own clones and resolver in each translation
/// unit that calls them (the linker keeps one).

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#if defined(__has_feature)
#if !__has_feature(address_sanitizer) && !__has_feature(thread_sanitizer) && !__has_feature(memory_sanitizer)
#define TIERKIT_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#else
#define TIERKIT_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef TIERKIT_SIMD_CLONES
#define TIERKIT_SIMD_CLONES
#endif
