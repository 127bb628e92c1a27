#pragma once
/**
 * @file expression.hpp
 * @brief User-defined element-wise activations written as expressions of `x`.
 *
 * ```cpp
 * using namespace ctnn::expr;
 * inline constexpr auto swish  = x * sigmoid(x);
 * inline constexpr auto dswish = sigmoid(x) * (1.0f + x * (1.0f - sigmoid(x)));
 * using Swish = ctnn::Custom<swish, dswish>;
 * using N = ctnn::Net<ctnn::Input<8>, ctnn::Dense<16>, Swish, ctnn::Dense<2>>;
 * ```
 * An expression is a literal value whose type records the formula; it evaluates the
 * same code on float, double and SIMD registers, so a `Dense` followed by a `Custom`
 * fuses into the GEMM epilogue exactly like a built-in activation, and the scalar
 * reference and the gradient checks run it too.
 */
#include <cmath>
#include <concepts>
#include <cstddef>
#include <functional>
#include <type_traits>

#include "../core/math.hpp"
#include "activation_concepts.hpp"

CTNN_BEGIN_NAMESPACE
namespace expr {

/// Marks expression node types.
struct node {};
template <class E>
concept Expr = std::derived_from<E, node>;

/// The placeholder: the activation's input.
struct X : node {
  static constexpr std::size_t ops = 0;
  template <class T>
  CTNN_HOST_DEVICE constexpr T operator()(T v) const noexcept {
    return v;
  }
};
inline constexpr X x{};

/// A constant (any arithmetic literal in an expression becomes one).
struct Const : node {
  float value;
  static constexpr std::size_t ops = 0;
  template <class T>
  CTNN_HOST_DEVICE constexpr T operator()(T) const noexcept {
    return math::constant<T>(value);
  }
};

/// l op r, with op one of std::plus<>, minus<>, multiplies<>, divides<>.
template <class Op, Expr L, Expr R>
struct Binary : node {
  L l;
  R r;
  static constexpr std::size_t ops = L::ops + R::ops + 1;
  template <class T>
  CTNN_HOST_DEVICE constexpr T operator()(T v) const noexcept {
    return Op{}(l(v), r(v));
  }
};

/// An expression, or an arithmetic value that becomes a Const.
template <class T>
constexpr auto as_expr(T v) noexcept {
  if constexpr (Expr<T>)
    return v;
  else
    return Const{{}, static_cast<float>(v)};
}
/// Operands of an expression operator: at least one expression, the other a number.
template <class A, class B>
concept Operands = (Expr<A> || Expr<B>) && (Expr<A> || std::is_arithmetic_v<A>) && (Expr<B> || std::is_arithmetic_v<B>);

template <class Op, class A, class B>
constexpr auto make_binary(A a, B b) noexcept {
  return Binary<Op, decltype(as_expr(a)), decltype(as_expr(b))>{{}, as_expr(a), as_expr(b)};
}
template <class A, class B>
  requires Operands<A, B>
constexpr auto operator+(A a, B b) noexcept {
  return make_binary<std::plus<>>(a, b);
}
template <class A, class B>
  requires Operands<A, B>
constexpr auto operator-(A a, B b) noexcept {
  return make_binary<std::minus<>>(a, b);
}
template <class A, class B>
  requires Operands<A, B>
constexpr auto operator*(A a, B b) noexcept {
  return make_binary<std::multiplies<>>(a, b);
}
template <class A, class B>
  requires Operands<A, B>
constexpr auto operator/(A a, B b) noexcept {
  return make_binary<std::divides<>>(a, b);
}

template <Expr A>
struct Neg : node {
  A a;
  static constexpr std::size_t ops = A::ops + 1;
  template <class T>
  CTNN_HOST_DEVICE constexpr T operator()(T v) const noexcept {
    return -a(v);
  }
};
template <Expr A>
constexpr Neg<A> operator-(A a) noexcept {
  return {{}, a};
}

/// f(a) for an element-wise function f (see exp, tanh below).
template <class F, Expr A>
struct Unary : node {
  A a;
  static constexpr std::size_t ops = A::ops + 1;
  template <class T>
  CTNN_HOST_DEVICE T operator()(T v) const noexcept {
    return F{}(a(v));
  }
};

/// Function objects over `ctnn::math`, which has a form for each value type.
struct exp_fn {
  template <class T>
  CTNN_HOST_DEVICE T operator()(T v) const noexcept {
    return math::exp(v);
  }
};
struct tanh_fn {
  template <class T>
  CTNN_HOST_DEVICE T operator()(T v) const noexcept {
    return math::tanh(v);
  }
};

/// exp(a).
template <Expr A>
constexpr Unary<exp_fn, A> exp(A a) noexcept {
  return {{}, a};
}
/// tanh(a).
template <Expr A>
constexpr Unary<tanh_fn, A> tanh(A a) noexcept {
  return {{}, a};
}

/// 1 / (1 + exp(-a)).
template <Expr A>
constexpr auto sigmoid(A a) noexcept {
  return 1.0f / (1.0f + exp(-a));
}

}  // namespace expr

/**
 * @brief An element-wise activation given by two expressions of `expr::x`: its value and
 * its derivative with respect to x. Fuses into a preceding Dense like a built-in.
 */
template <auto Value, auto Derivative>
  requires expr::Expr<decltype(Value)> && expr::Expr<decltype(Derivative)>
struct Custom : detail::elementwise<Custom<Value, Derivative>> {
  static constexpr std::size_t flops_per_element = decltype(Value)::ops;
  static constexpr bool needs_input = true;  ///< the derivative is written in x
  template <class T>
  CTNN_HOST_DEVICE static T value(T v) noexcept {
    return Value(v);
  }
  template <class T>
  CTNN_HOST_DEVICE static T derivative(T v, T) noexcept {
    return Derivative(v);
  }
};

CTNN_END_NAMESPACE
