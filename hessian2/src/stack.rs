//! [`InlineStack`]: a stack that lives inline up to `N` entries, so that coding the usual
//! shallow body allocates nothing for its bookkeeping.

/// A stack of `Copy` values: inline up to `N`, on the heap (all of it) past that.
#[derive(Clone, Debug)]
pub(crate) struct InlineStack<T, const N: usize> {
    inline: [T; N],
    len: usize,
    /// Every entry once the stack outgrew `inline`.
    spilled: Option<Vec<T>>,
}

impl<T: Copy + Default, const N: usize> Default for InlineStack<T, N> {
    #[inline]
    fn default() -> Self {
        Self {
            inline: [T::default(); N],
            len: 0,
            spilled: None,
        }
    }
}

impl<T: Copy + Default, const N: usize> InlineStack<T, N> {
    #[inline]
    pub(crate) fn push(&mut self, value: T) {
        match &mut self.spilled {
            Some(all) => all.push(value),
            None if self.len < N => {
                self.inline[self.len] = value;
                self.len += 1;
            }
            None => {
                let mut all = Vec::with_capacity(2 * N);
                all.extend_from_slice(&self.inline);
                all.push(value);
                self.spilled = Some(all);
            }
        }
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        match &mut self.spilled {
            Some(all) => all.pop(),
            None if self.len > 0 => {
                self.len -= 1;
                Some(self.inline[self.len])
            }
            None => None,
        }
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[T] {
        match &self.spilled {
            Some(all) => all,
            None => &self.inline[..self.len],
        }
    }
}

impl<T, const N: usize> std::ops::Deref for InlineStack<T, N>
where
    T: Copy + Default,
{
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_vec_across_the_spill() {
        let mut stack = InlineStack::<u32, 4>::default();
        let mut model = Vec::new();
        for round in 0..3 {
            for i in 0..(6 + round) {
                stack.push(i);
                model.push(i);
                assert_eq!(stack.as_slice(), &model[..]);
            }
            for _ in 0..(4 + round) {
                assert_eq!(stack.pop(), model.pop());
                assert_eq!(&stack[..], &model[..]);
            }
        }
        while let Some(v) = model.pop() {
            assert_eq!(stack.pop(), Some(v));
        }
        assert_eq!(stack.pop(), None);
        assert!(stack.is_empty());
    }
}
